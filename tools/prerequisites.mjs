#!/usr/bin/env node
// The first step of `npm test`: names every Debian package the tests need that is missing,
// in one line with the command that installs them, before minutes of tests run. Under
// CI=true a missing package fails the run here; on a developer's machine it is said loudly
// and the tests that need it fail with their own message.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
const postgresBinaries = () => {
  const base = '/usr/lib/postgresql';
  return existsSync(base) && readdirSync(base).some((v) => existsSync(`${base}/${v}/bin/pg_ctl`) && existsSync(`${base}/${v}/bin/initdb`));
};

/** Each Debian package the tests need, and how to tell it is installed. */
export const PACKAGES = [
  { name: 'prometheus', why: 'promtool and Prometheus (rule tests, the stack test)', installed: (p) => p.onPath('promtool') && p.onPath('prometheus') },
  { name: 'prometheus-alertmanager', why: 'Alertmanager and amtool', installed: (p) => p.onPath('prometheus-alertmanager') && p.onPath('amtool') },
  { name: 'docker-compose', why: 'the docker-compose.yml check', installed: (p) => p.onPath('docker-compose') },
  { name: 'chromium', why: 'the status page browser test', installed: (p) => p.exists('/usr/bin/chromium') },
  { name: 'postgresql', why: 'the PostgreSQL store tests', installed: (p) => p.postgres() },
];

/** The names of the missing packages, in PACKAGES order. `probe` is the machine (injected by the tests). */
export function missingPackages(probe = { onPath, exists: existsSync, postgres: postgresBinaries }) {
  return PACKAGES.filter((p) => !p.installed(probe)).map((p) => p.name);
}

/** The one line that names them and the command that installs them. */
export function missingLine(names) {
  return `vigia tests: missing Debian packages: ${names.join(', ')}. Install them with: sudo apt-get install -y ${names.join(' ')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = missingPackages();
  if (missing.length > 0) {
    const ci = process.env['CI'] === 'true';
    process.stderr.write(`${missingLine(missing)}${ci ? '' : ' (the tests that need them will fail)'}\n`);
    if (ci) process.exit(1);
  }
}
