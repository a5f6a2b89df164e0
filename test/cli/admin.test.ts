import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { runVigiaCommand, startVigia, type VigiaProcess } from '../helpers/process.js';
import { MODEL, ROW, stageVersion, TOKEN, V1, versionedModels } from '../helpers/versions.js';

describe('vigia admin against a running vigia serve', () => {
  const tmp = tempDir();
  let vigia: VigiaProcess;
  let models: string;
  const admin = (...args: string[]) => runVigiaCommand(['admin', ...args, '--url', vigia.url], { VIGIA_ADMIN_TOKEN: TOKEN });
  before(async () => {
    models = versionedModels(tmp.dir);
    vigia = await startVigia({ VIGIA_MODELS_DIR: models, VIGIA_DB: join(tmp.dir, 'vigia.db'), VIGIA_ADMIN_TOKEN: TOKEN, VIGIA_EVAL_INTERVAL: '0s' });
  });
  after(async () => {
    vigia.proc.kill('SIGTERM');
    await vigia.exited;
    tmp.remove();
  });

  it('loads, promotes, canaries, shadows, rolls back and unloads, printing each version with its state and role', async () => {
    stageVersion(models, '2.0.0');
    const loaded = await admin('load', MODEL, '2.0.0');
    assert.equal(loaded.code, 0, loaded.output);
    assert.match(loaded.stdout, /^tensor-model\t2\.0\.0\tready\tnone\n$/);
    const canary = await admin('canary', MODEL, '2.0.0', '25');
    assert.match(canary.stdout, /2\.0\.0\tready\tcanary 25%/);
    const shadow = await admin('shadow', MODEL, '2.0.0');
    assert.match(shadow.stdout, /2\.0\.0\tready\tshadow/);
    assert.match((await admin('shadow', MODEL, 'off')).stdout, /2\.0\.0\tready\tnone/);
    const promoted = await admin('promote', MODEL, '2.0.0');
    assert.match(promoted.stdout, new RegExp(`${V1.replace(/\./g, '\\.')}\\tready\\tprevious\\n.*2\\.0\\.0\\tready\\tstable`, 's'));
    const answer = await fetch(`${vigia.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: ROW }) });
    assert.equal(((await answer.json()) as { model_version: string }).model_version, '2.0.0');
    assert.match((await admin('rollback', MODEL)).stdout, /0\.1\.0\tready\tstable/);
    assert.match((await admin('unload', MODEL, '2.0.0')).stdout, /2\.0\.0\tunloaded\tnone\tunloaded on request/);
    // The version loaded live got its own baseline: its thresholds are exported like the start-up ones.
    const metrics = await (await fetch(`${vigia.url}/metrics`)).text();
    assert.ok(/vigia_threshold\{model="tensor-model",version="2\.0\.0",signal="feature_psi",severity="warning"\} 0\.1/.test(metrics), 'no threshold table for 2.0.0');
    assert.ok(/vigia_model_version_state\{model="tensor-model",version="2\.0\.0",state="unloaded"\} 1/.test(metrics), 'no unloaded state for 2.0.0');
  });

  it('exits 1 naming the refusal when the token is wrong, and 2 without any token', async () => {
    const wrong = await runVigiaCommand(['admin', 'status', '--url', vigia.url], { VIGIA_ADMIN_TOKEN: 'another-token-of-enough-length' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.output, /vigia: 403 the bearer token is not the one set in VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE/);
    const none = await runVigiaCommand(['admin', 'status', '--url', vigia.url], {});
    assert.equal(none.code, 2);
    assert.match(none.output, /no admin token: give --token-file, or set VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE/);
  });
});
