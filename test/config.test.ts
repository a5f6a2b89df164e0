import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_KEYS, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('loadConfig', () => {
  it('gives every key a default so an empty environment serves the demo model', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.match(c.modelsDir, /models$/);
    assert.equal(c.db.engine, 'sqlite');
    assert.match(c.db.engine === 'sqlite' ? c.db.path : '', /data\/vigia\.db$/);
    assert.equal(c.dbSynchronous, 'FULL');
    assert.equal(c.bodyLimitBytes, 1024 * 1024);
    assert.equal(c.maxBatch, 1000);
    assert.equal(c.tracesExporter, 'none');
  });

  it('takes a postgres:// VIGIA_DB as the fleet store and any other value as a SQLite file', () => {
    assert.deepEqual(loadConfig({ VIGIA_DB: 'postgres://vigia:secret@db:5432/vigia' }).db, { engine: 'postgres', url: 'postgres://vigia:secret@db:5432/vigia' });
    assert.deepEqual(loadConfig({ VIGIA_DB: 'postgresql://db/vigia' }).db, { engine: 'postgres', url: 'postgresql://db/vigia' });
    assert.equal(loadConfig({ VIGIA_DB: 'audit.db' }).db.engine, 'sqlite');
    assert.throws(() => loadConfig({ VIGIA_DB: 'postgres://' }), /config VIGIA_DB="postgres:\/\/" is invalid: expected a postgres:\/\/ URL naming a host/);
    assert.throws(() => loadConfig({ VIGIA_LEADER_POLL: 'soon' }), /config VIGIA_LEADER_POLL="soon" is invalid/);
    assert.throws(() => loadConfig({ VIGIA_DB_POOL_SIZE: '0' }), /config VIGIA_DB_POOL_SIZE="0" is invalid: expected an integer from 1 to 1000/);
  });

  it('reads each key from its environment variable', () => {
    const c = loadConfig({ PORT: '9090', VIGIA_BODY_LIMIT: '64kb', VIGIA_MAX_BATCH: '50', VIGIA_DB_SYNCHRONOUS: 'NORMAL', VIGIA_DEFAULT_MODEL: 'x' });
    assert.equal(c.port, 9090);
    assert.equal(c.bodyLimitBytes, 64 * 1024);
    assert.equal(c.maxBatch, 50);
    assert.equal(c.dbSynchronous, 'NORMAL');
    assert.equal(c.defaultModel, 'x');
  });

  it('rejects a malformed value naming the key and the value', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (err: unknown) => err instanceof ConfigError && /PORT="eighty"/.test(err.message));
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT="70000" is invalid: expected an integer from 0 to 65535/);
    assert.throws(() => loadConfig({ VIGIA_MAX_BATCH: '0' }), /VIGIA_MAX_BATCH="0"/);
    assert.throws(() => loadConfig({ VIGIA_BODY_LIMIT: 'huge' }), /VIGIA_BODY_LIMIT="huge"/);
    assert.throws(() => loadConfig({ VIGIA_DB_SYNCHRONOUS: 'OFF' }), /VIGIA_DB_SYNCHRONOUS="OFF" is invalid: expected one of FULL, NORMAL/);
    assert.throws(() => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger' }), /OTEL_TRACES_EXPORTER="jaeger"/);
  });

  it('reads the admin token from VIGIA_ADMIN_TOKEN or from the file VIGIA_ADMIN_TOKEN_FILE names, never both, and keeps the admin API closed without either', () => {
    assert.equal(loadConfig({}).adminToken, undefined);
    assert.equal(loadConfig({ VIGIA_ADMIN_TOKEN: 'a-token-of-enough-length' }).adminToken, 'a-token-of-enough-length');
    const dir = mkdtempSync(join(tmpdir(), 'vigia-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, 'token-from-a-mounted-secret\n');
      assert.equal(loadConfig({ VIGIA_ADMIN_TOKEN_FILE: file }).adminToken, 'token-from-a-mounted-secret');
      assert.throws(() => loadConfig({ VIGIA_ADMIN_TOKEN_FILE: file, VIGIA_ADMIN_TOKEN: 'the-direct-token-too' }), /either VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE, not both/);
      assert.throws(() => loadConfig({ VIGIA_ADMIN_TOKEN_FILE: join(dir, 'absent') }), /VIGIA_ADMIN_TOKEN_FILE=".*absent" is invalid: expected a readable file holding the token/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a short admin token without printing it', () => {
    assert.throws(() => loadConfig({ VIGIA_ADMIN_TOKEN: 'secret' }), (err: unknown) => {
      assert.match((err as Error).message, /VIGIA_ADMIN_TOKEN="\(not shown\)" is invalid: expected a token of at least 16 printable characters/);
      assert.doesNotMatch((err as Error).message, /secret/);
      return true;
    });
  });

  it('documents every key with a flag and a one-line doc', () => {
    for (const spec of Object.values(CONFIG_KEYS)) {
      assert.match(spec.flag, /^--[a-z-]+$/);
      assert.ok(spec.doc.length > 10, spec.key);
    }
  });
});

describe('loadConfig secrets (bearer tokens)', () => {
  const token = 'a-token-of-sixteen-or-more';
  it('reads a token from its variable or from the file its _FILE variable names, and none is none', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'vigia-secret-'));
    try {
      writeFileSync(join(dir, 'labels'), `${token}\n`);
      const c = loadConfig({ VIGIA_PREDICT_TOKEN: token, VIGIA_LABELS_TOKEN_FILE: join(dir, 'labels') });
      assert.equal(c.predictToken, token);
      assert.equal(c.labelsToken, token);
      assert.equal(loadConfig({}).predictToken, undefined);
      assert.throws(() => loadConfig({ VIGIA_LABELS_TOKEN_FILE: join(dir, 'missing') }), /VIGIA_LABELS_TOKEN_FILE=".*missing" is invalid: expected a readable file holding the token \(ENOENT\)/);
      assert.throws(() => loadConfig({ VIGIA_LABELS_TOKEN: token, VIGIA_LABELS_TOKEN_FILE: join(dir, 'labels') }), /either VIGIA_LABELS_TOKEN or VIGIA_LABELS_TOKEN_FILE, not both/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a short or spaced token naming the key but never showing the value', () => {
    for (const bad of ['short', 'has a space in the middle of it']) {
      assert.throws(() => loadConfig({ VIGIA_PREDICT_TOKEN: bad }), (err: unknown) => err instanceof ConfigError && /VIGIA_PREDICT_TOKEN="\(not shown\)" is invalid: expected a token of at least 16/.test(err.message) && !err.message.includes(bad));
    }
  });
});
