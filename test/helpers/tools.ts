import { spawnSync } from 'node:child_process';

/** The Debian package that ships each external tool the tests run. */
const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  'docker-compose': 'docker-compose',
};

/**
 * The path of an external tool the tests need (promtool, amtool...). A missing tool fails
 * the test, on a developer's machine as in CI: a skipped check is not a passing one.
 */
export function requireTool(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(`${name} is not installed: apt-get install ${DEBIAN_PACKAGE[name] ?? name} (.ci/run does)`);
  }
  return path;
}
