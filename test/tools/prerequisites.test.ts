import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs script of tools/, without type declarations
import { missingLine, missingPackages } from '../../tools/prerequisites.mjs';
import { ROOT } from '../helpers/app.js';

const SCRIPT = join(ROOT, 'tools', 'prerequisites.mjs');
const bare = { onPath: () => false, exists: () => false, postgres: () => false };

describe('the prerequisites check of npm test', () => {
  it('names every missing Debian package in one line, with the apt-get command that installs them all', () => {
    const missing = missingPackages(bare) as string[];
    assert.deepEqual(missing, ['prometheus', 'prometheus-alertmanager', 'docker-compose', 'chromium', 'postgresql']);
    assert.equal(
      missingLine(missing),
      'vigia tests: missing Debian packages: prometheus, prometheus-alertmanager, docker-compose, chromium, postgresql. Install them with: sudo apt-get install -y prometheus prometheus-alertmanager docker-compose chromium postgresql',
    );
  });

  it('names only what is missing: promtool without prometheus still needs the package', () => {
    const probe = { ...bare, onPath: (n: string) => ['promtool', 'prometheus-alertmanager', 'amtool', 'docker-compose'].includes(n), exists: () => true, postgres: () => true };
    assert.deepEqual(missingPackages(probe), ['prometheus']);
  });

  it('fails under CI=true and only warns elsewhere when a package is missing, before any test runs', () => {
    // An empty PATH hides every tool but chromium and postgresql, which are found by path.
    const env = { PATH: '/nonexistent' };
    const ci = spawnSync(process.execPath, [SCRIPT], { env: { ...env, CI: 'true' }, encoding: 'utf8' });
    assert.equal(ci.status, 1);
    assert.match(ci.stderr, /^vigia tests: missing Debian packages: prometheus, prometheus-alertmanager, docker-compose[^\n]*Install them with: sudo apt-get install -y prometheus prometheus-alertmanager docker-compose/);
    assert.equal(ci.stderr.trim().split('\n').length, 1);
    const dev = spawnSync(process.execPath, [SCRIPT], { env, encoding: 'utf8' });
    assert.equal(dev.status, 0);
    assert.match(dev.stderr, /the tests that need them will fail/);
  });

  it('says nothing and passes on this machine, where every package is installed', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { env: { PATH: process.env['PATH'] ?? '', CI: 'true' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
