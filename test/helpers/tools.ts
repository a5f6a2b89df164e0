import { spawnSync } from 'node:child_process';

/**
 * The path of an external tool the tests need (promtool, amtool...). A missing tool fails
 * the test, on a developer's machine as in CI: a skipped check is not a passing one.
 */
export function requireTool(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(`${name} is not installed: apt-get install prometheus (.ci/run does)`);
  }
  return path;
}
