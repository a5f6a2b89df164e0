import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './app.js';

export interface VigiaProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the real `vigia` command (bin/vigia.js, built by `npm test`) and returns its output and exit. */
export function runVigia(args: string[], env: Record<string, string>): { proc: ChildProcess; output: () => string; exited: VigiaProcess['exited'] } {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'vigia.js'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

/** Runs a `vigia` subcommand to its end: its exit code, its stdout, and stdout and stderr together. */
export async function runVigiaCommand(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; output: string }> {
  const run = runVigia(args, env);
  let stdout = '';
  run.proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  const { code } = await run.exited;
  return { code, stdout, output: run.output() };
}

/** Starts `vigia serve` on a free port and waits for its "listening" line. */
export async function startVigia(env: Record<string, string>, args: readonly string[] = []): Promise<VigiaProcess> {
  const run = runVigia(['serve', '--port', '0', '--host', '127.0.0.1', ...args], env);
  const url = await new Promise<string>((resolve, reject) => {
    // On a timeout the process is killed, so a test file that failed to start it still ends.
    const timer = setTimeout(() => {
      run.proc.kill('SIGKILL');
      reject(new Error(`vigia did not start in 30 s:\n${run.output()}`));
    }, 30_000);
    const check = () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(run.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    run.proc.stdout!.on('data', check);
    run.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`vigia exited with ${code} before listening:\n${run.output()}`));
    });
  });
  return { ...run, url };
}
