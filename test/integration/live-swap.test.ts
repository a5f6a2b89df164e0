import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, DEMO_MODELS, tempDir, type TestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { AUTH, MODEL, stageVersion, TOKEN, V1, versionedModels } from '../helpers/versions.js';

describe('a live load, promotion, rollback and unload under continuous traffic', () => {
  const tmp = tempDir();
  let t: TestApp;
  let models: string;
  before(async () => {
    models = versionedModels(tmp.dir);
    t = await buildTestApp({ modelsDir: models, adminToken: TOKEN });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('answers every request 200 and logs every answer, on the version that answered', async () => {
    const server = await listen(t.app);
    const answers: { id: string; version: string }[] = [];
    const failures: string[] = [];
    let stop = false;
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        const r = await fetch(`${server.url}/predict`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [{ amount: 10 * i, age: 20 + (k % 50), channel: i % 3 }, { amount: 5, age: 70, channel: null }] }),
        });
        const body = (await r.json()) as { predictions?: { prediction_id: string; model_version: string }[] };
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(body)}`);
        else for (const p of body.predictions!) answers.push({ id: p.prediction_id, version: p.model_version });
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    const step = async (path: string, body?: object) => {
      await new Promise((r) => setTimeout(r, 150));
      await request(t.app).post(`/v1/admin/models/${MODEL}${path}`).set(AUTH).send(body ?? {}).expect(200);
    };
    try {
      stageVersion(models, '2.0.0');
      await step('/versions/2.0.0/load');
      await step('/versions/2.0.0/promote');
      await step('/rollback');
      await step('/versions/2.0.0/promote');
      await step(`/versions/${V1}/unload`);
      await step(`/versions/${V1}/load`);
      await step(`/versions/${V1}/promote`);
      await step('/versions/2.0.0/unload');
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      stop = true;
      await Promise.all(clients);
      await server.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(answers.length > 100, `only ${answers.length} answers`);
    const versions = new Set(answers.map((a) => a.version));
    assert.deepEqual([...versions].sort(), ['0.1.0', '2.0.0']);
    const logged = new Map((t.db.prepare('SELECT id, model_version FROM predictions WHERE shadow_of IS NULL').raw().all() as [string, string][]));
    const unlogged = answers.filter((a) => logged.get(a.id) !== a.version);
    assert.deepEqual(unlogged, [], 'answers without their audit row (or logged under another version)');
    process.stdout.write(`# ${answers.length} answers during 8 rollout steps, 0 non-2xx, 0 unlogged\n`);
  });
});

describe('ten load and unload cycles of the demo model', () => {
  const tmp = tempDir();
  let t: TestApp;
  let models: string;
  before(async () => {
    models = join(tmp.dir, 'models');
    mkdirSync(join(models, 'credit-default'), { recursive: true });
    cpSync(join(DEMO_MODELS, 'credit-default'), join(models, 'credit-default', '1.0.0'), { recursive: true });
    const staging = join(models, 'credit-default', '.staging');
    cpSync(join(DEMO_MODELS, 'credit-default'), staging, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(staging, 'vigia.json'), 'utf8'));
    manifest.version = '1.0.1';
    writeFileSync(join(staging, 'vigia.json'), JSON.stringify(manifest));
    renameSync(staging, join(models, 'credit-default', '1.0.1'));
    // Only 1.0.0 at start: 1.0.1 is loaded on command.
    renameSync(join(models, 'credit-default', '1.0.1'), join(models, 'credit-default', '.held'));
    t = await buildTestApp({ modelsDir: models, adminToken: TOKEN });
    renameSync(join(models, 'credit-default', '.held'), join(models, 'credit-default', '1.0.1'));
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('leaves resident memory flat (growth from cycle 2 to 10 under 64 MB)', async () => {
    const rss: number[] = [];
    const loadSeconds: number[] = [];
    let resident = 0;
    for (let i = 0; i < 10; i++) {
      const before = process.memoryUsage().rss;
      const loaded = await request(t.app).post('/v1/admin/models/credit-default/versions/1.0.1/load').set(AUTH).expect(200);
      loadSeconds.push(loaded.body.load_seconds);
      resident = process.memoryUsage().rss - before;
      await request(t.app).post('/predict').send({ features: JSON.parse(readFileSync(join(models, 'credit-default', '1.0.1', 'parity.json'), 'utf8')).rows[0].features }).expect(200);
      await request(t.app).post('/v1/admin/models/credit-default/versions/1.0.1/unload').set(AUTH).expect(200);
      (globalThis as { gc?: () => void }).gc?.();
      rss.push(process.memoryUsage().rss);
    }
    const mb = (b: number) => Math.round(b / 1048576);
    const growth = rss[9]! - rss[1]!;
    loadSeconds.sort((a, b) => a - b);
    process.stdout.write(`# RSS after each cycle (MB): ${rss.map(mb).join(' ')}; growth cycle 2→10: ${mb(growth)} MB; last version resident ≈ ${mb(resident)} MB; median load ${loadSeconds[5]} s\n`);
    assert.ok(growth < 64 * 1048576, `RSS grew ${mb(growth)} MB over 9 cycles`);
    const states = (await request(t.app).get('/v1/models')).body.versions.map((v: { version: string; state: string }) => `${v.version}:${v.state}`);
    assert.deepEqual(states, ['1.0.0:ready', '1.0.1:unloaded']);
  });
});
