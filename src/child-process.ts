import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Forks a Node process from a module next to `callerUrl` (pass `import.meta.url`): the
 * compiled `<name>.js`, or `<name>.ts` under tsx when the caller runs from source (tests,
 * bench). `nice` lowers its scheduling priority (0 = same as this process).
 */
export function forkModule(callerUrl: string, name: string, nice: number): ChildProcess {
  const fromSource = callerUrl.endsWith('.ts');
  const file = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, callerUrl));
  const child = fork(file, [], { execArgv: fromSource ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  if (nice !== 0 && child.pid !== undefined) {
    try {
      setPriority(child.pid, nice);
    } catch {
      // Not permitted here: the evaluation still runs, at the same priority.
    }
  }
  return child;
}
