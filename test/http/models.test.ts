import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('GET /v1/models, /healthz and /readyz', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('lists the loaded model with its features, threshold, bands and held-out AUC', async () => {
    const res = await request(t.app).get('/v1/models').expect(200);
    const [m] = res.body.models;
    assert.equal(res.body.models.length, 1);
    assert.equal(m.name, 'credit-default');
    assert.equal(m.version, '1.0.0');
    assert.equal(m.default, true);
    assert.equal(m.features.length, 23);
    assert.deepEqual(m.features[2], { name: 'EDUCATION', kind: 'categorical', monitored: true, nullable: true, categories: [0, 1, 2, 3, 4, 5, 6], description: m.features[2].description });
    assert.equal(m.threshold, 0.2);
    assert.deepEqual(m.bands.map((b: { name: string; min_probability: number }) => [b.name, b.min_probability]), [['critical', 0.5], ['moderate', 0.2], ['low', 0]]);
    assert.ok(m.training.test_auc > 0.77 && m.training.test_auc < 0.8);
  });

  it('says the process is alive', async () => {
    assert.deepEqual((await request(t.app).get('/healthz').expect(200)).body, { status: 'ok' });
  });

  it('is ready while the database is open, and not ready once it is closed', async () => {
    assert.deepEqual((await request(t.app).get('/readyz').expect(200)).body, { status: 'ready', checks: { database: 'ok' } });
    t.db.close();
    assert.deepEqual((await request(t.app).get('/readyz').expect(503)).body, { status: 'not_ready', checks: { database: 'database closed' } });
  });
});
