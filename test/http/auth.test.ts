import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { bearerAuth } from '../../src/http/auth.js';
import { HttpError } from '../../src/errors.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

const PREDICT_TOKEN = 'predict-token-0123456789abcdef';
const LABELS_TOKEN = 'labels-token-fedcba9876543210';
const row = demoRows(1)[0]!;

describe('bearerAuth', () => {
  const check = bearerAuth(PREDICT_TOKEN, 'VIGIA_PREDICT_TOKEN');
  const status = (authorization: string | undefined): number => {
    try {
      check(authorization === undefined ? {} : { authorization });
      return 200;
    } catch (err) {
      return (err as HttpError).status;
    }
  };

  it('passes the right token, refuses a missing or malformed header with 401 and a wrong token with 403', () => {
    assert.equal(status(`Bearer ${PREDICT_TOKEN}`), 200);
    assert.equal(status(`bearer ${PREDICT_TOKEN}`), 200);
    assert.equal(status(undefined), 401);
    assert.equal(status(PREDICT_TOKEN), 401);
    assert.equal(status(`Basic ${Buffer.from(`u:${PREDICT_TOKEN}`).toString('base64')}`), 401);
    assert.equal(status('Bearer '), 401);
    assert.equal(status(`Bearer ${PREDICT_TOKEN}x`), 403);
    assert.equal(status(`Bearer ${PREDICT_TOKEN.slice(0, -1)}`), 403);
    assert.equal(status('Bearer x'), 403);
  });

  it('never puts the token in its messages', () => {
    for (const authorization of [undefined, `Bearer ${PREDICT_TOKEN}x`]) {
      try {
        check(authorization === undefined ? {} : { authorization });
      } catch (err) {
        assert.ok(!(err as Error).message.includes(PREDICT_TOKEN.slice(0, 8)), (err as Error).message);
        assert.match((err as Error).message, /VIGIA_PREDICT_TOKEN/);
      }
    }
  });
});

describe('the optional bearer tokens of the service', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ tokens: { predict: PREDICT_TOKEN, labels: LABELS_TOKEN } });
  });
  after(() => t.close());

  it('answers a predict request without a token 401 with the error body and a Bearer challenge, and scores nothing', async () => {
    for (const path of ['/predict', '/v1/models/credit-default/predict']) {
      const res = await request(t.app).post(path).send({ features: row }).expect(401);
      assert.deepEqual(res.body.error, { code: 'unauthorized', message: 'this route needs "Authorization: Bearer <token>" with the token set in VIGIA_PREDICT_TOKEN', field: 'authorization' });
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="vigia"');
    }
    assert.equal(t.db.prepare('SELECT count(*) FROM predictions').pluck().get(), 0);
  });

  it('answers a wrong predict token 403, and the labels token is not the predict token', async () => {
    for (const token of ['wrong-token-000000000000', LABELS_TOKEN]) {
      const res = await request(t.app).post('/predict').set('authorization', `Bearer ${token}`).send({ features: row }).expect(403);
      assert.equal(res.body.error.code, 'forbidden');
    }
  });

  it('scores with the predict token, and takes labels only with the labels token', async () => {
    const p = await request(t.app).post('/predict').set('authorization', `Bearer ${PREDICT_TOKEN}`).send({ features: row }).expect(200);
    const labels = { labels: [{ prediction_id: p.body.prediction_id, label: 1 }] };
    assert.equal((await request(t.app).post('/v1/labels').send(labels).expect(401)).body.error.code, 'unauthorized');
    assert.equal((await request(t.app).post('/v1/labels').set('authorization', `Bearer ${PREDICT_TOKEN}`).send(labels).expect(403)).body.error.code, 'forbidden');
    assert.equal((await request(t.app).post('/v1/labels').set('authorization', `Bearer ${LABELS_TOKEN}`).send(labels).expect(200)).body.accepted, 1);
  });

  it('checks the token before reading the body: a malformed body without a token is 401, not 400', async () => {
    await request(t.app).post('/v1/labels').set('content-type', 'application/json').send('{"labels": [').expect(401);
    await request(t.app).post('/predict').set('content-type', 'application/json').send('{"features": [').expect(401);
  });

  it('leaves the read routes open and puts no token in a metric', async () => {
    await request(t.app).get('/v1/models').expect(200);
    await request(t.app).get('/healthz').expect(200);
    const metrics = (await request(t.app).get('/metrics').expect(200)).text;
    assert.ok(!metrics.includes(PREDICT_TOKEN) && !metrics.includes(LABELS_TOKEN));
    assert.match(metrics, /vigia_http_requests_total\{[^}]*status_class="4xx"/);
  });
});
