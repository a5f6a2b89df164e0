import { spawnSync } from 'node:child_process';

/**
 * Finds an external tool the tests need (promtool, amtool...). In CI (CI=true) a missing
 * tool fails the test; on a developer's machine the caller skips, loudly.
 */
export function requireTool(name: string): { path: string } | { skip: string } {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status === 0 && path !== '') return { path };
  const why = `${name} is not installed (Debian package: prometheus); .ci/run installs it`;
  if (process.env['CI']) throw new Error(`${why} — required in CI`);
  process.stderr.write(`\n*** SKIPPING: ${why} ***\n\n`);
  return { skip: why };
}
