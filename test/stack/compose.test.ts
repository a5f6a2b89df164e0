import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/app.js';
import { requireTool } from '../helpers/tools.js';

interface Compose {
  services: Record<string, { image?: string; build?: unknown; volumes?: string[]; secrets?: string[]; environment?: Record<string, string> }>;
  secrets?: Record<string, { file: string }>;
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;

describe('docker-compose.yml and the Dockerfile', () => {
  it('passes docker-compose config -q', () => {
    const r = spawnSync(requireTool('docker-compose'), ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  });

  it('runs two service replicas on one PostgreSQL, Prometheus, Alertmanager and Grafana, each image pinned to a version', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['alertmanager', 'grafana', 'postgres', 'prometheus', 'vigia', 'vigia-2']);
    const replicas = [compose.services['vigia']!, compose.services['vigia-2']!];
    for (const r of replicas) {
      assert.equal(r.build, '.');
      assert.equal(r.environment?.['VIGIA_DB'], 'postgres://vigia@postgres:5432/vigia');
      assert.equal(r.environment?.['VIGIA_DB_PASSWORD_FILE'], '/run/secrets/postgres_password');
    }
    assert.deepEqual(replicas.map((r) => r.environment?.['VIGIA_REPLICA_ID']), ['vigia-1', 'vigia-2']);
    assert.equal(compose.services['postgres']!.environment?.['POSTGRES_PASSWORD_FILE'], '/run/secrets/postgres_password');
    for (const [name, s] of Object.entries(compose.services)) {
      // PostgreSQL numbers its releases major.minor; the others major.minor.patch.
      assert.match(s.image ?? '', name === 'postgres' ? /^postgres:\d+\.\d+-bookworm$/ : /^[\w./-]+:v?\d+\.\d+\.\d+$/, `${name}: ${s.image}`);
    }
  });

  it('mounts every configuration read-only, from the files the tests check', () => {
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'));
    assert.deepEqual(mounts.sort(), [
      './alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro',
      './alertmanager/secrets:/etc/alertmanager/secrets:ro',
      './grafana/dashboards:/var/lib/grafana/dashboards:ro',
      './grafana/provisioning:/etc/grafana/provisioning:ro',
      './prometheus:/etc/prometheus:ro',
    ]);
  });

  it('reads the secrets from git-ignored files, never from the compose file', () => {
    assert.equal(compose.services['grafana']!.environment?.['GF_SECURITY_ADMIN_PASSWORD__FILE'], '/run/secrets/grafana_admin_password');
    assert.deepEqual(compose.secrets, { grafana_admin_password: { file: './grafana/secrets/admin-password' }, postgres_password: { file: './postgres/secrets/password' } });
    const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
    for (const dir of ['alertmanager/secrets/', 'grafana/secrets/', 'postgres/secrets/']) assert.ok(ignored.includes(dir), `.gitignore lacks ${dir}`);
    assert.doesNotMatch(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), /PASSWORD:|_KEY:|TOKEN:/);
  });

  it('builds the service on node:20 with npm ci, the onnxruntime download skipped, no dev dependencies in the image', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:20-bookworm-slim AS build$/m);
    assert.match(dockerfile, /^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    assert.match(dockerfile, /^RUN npm ci && npm prune --omit=dev$/m);
    assert.match(dockerfile, /^CMD \["node", "bin\/vigia\.js", "serve"\]$/m);
  });
});
