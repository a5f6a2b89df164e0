import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { refreshSeconds } from '../../src/http/status.js';
import { buildTestApp, postRows, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';

const send = (t: TestApp, rows: Record<string, number>[]) => postRows(t.app, rows);
const state = (html: string) => /data-status="(\w+)"/.exec(html)?.[1];
const severity = (html: string, feature: string) => new RegExp(`data-feature="${feature}" data-severity="([^"]+)"`).exec(html)?.[1];

describe('GET / and GET /status', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
  });
  after(() => t.close());

  it('serves the status page as HTML at / and at /status, saying when the window is too small to judge', async () => {
    for (const path of ['/', '/status']) {
      const res = await request(t.app).get(path).expect(200);
      assert.match(res.headers['content-type']!, /^text\/html; charset=utf-8/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(state(res.text), 'NO_VERDICT');
      assert.match(res.text, /<p class="word">NO VERDICT YET<\/p>/);
      assert.match(res.text, /Too few predictions for a verdict yet \(0 of 100\)/);
      assert.doesNotMatch(res.text, /HEALTHY|look as expected/, 'no green verdict beside "too few predictions"');
    }
  });

  it('sends a Content-Security-Policy that admits only its own inline style, nosniff and frame protection', async () => {
    const res = await request(t.app).get('/status').expect(200);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)![1]!;
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the page\'s own style is allowed by its hash');
    assert.doesNotMatch(res.text, /<script/);
  });

  it('sends nosniff with JSON errors, on the Express routes and on the predict hot path', async () => {
    for (const res of [await request(t.app).get('/nope/<b>x</b>').expect(404), await request(t.app).post('/predict').send({ features: { '<script>': 1 } }).expect(400)]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.match(res.headers['content-type']!, /^application\/json/);
    }
  });

  it('lists the versions of the model with their state and role', async () => {
    const res = await request(t.app).get('/status').expect(200);
    assert.match(res.text, /<section id="versions"><h2>Versions<\/h2>/);
    assert.match(res.text, /<tr data-version="1\.0\.0" data-state="ready"><td class="text">1\.0\.0<\/td><td class="text">ready<\/td><td class="text">stable<\/td>/);
  });

  it('follows the traffic: HEALTHY on reference rows, CRITICAL with LIMIT_BAL flagged once it is tripled', async () => {
    await send(t, resample(400));
    const healthy = (await request(t.app).get('/status?refresh=true').expect(200)).text;
    assert.equal(state(healthy), 'HEALTHY');
    assert.equal(severity(healthy, 'LIMIT_BAL'), 'ok');
    await send(t, resample(1200).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 })));
    const stale = (await request(t.app).get('/status').expect(200)).text;
    assert.equal(state(stale), 'HEALTHY', 'without refresh the last evaluation is shown');
    const critical = (await request(t.app).get('/status?model=credit-default&refresh=true').expect(200)).text;
    assert.equal(state(critical), 'CRITICAL');
    assert.equal(severity(critical, 'LIMIT_BAL'), 'critical');
    assert.equal(severity(critical, 'AGE'), 'ok');
    const json = (await request(t.app).get('/v1/models/credit-default/report').expect(200)).body;
    assert.equal(json.summary.status, 'CRITICAL', 'the page and the JSON report are the same evaluation');
    assert.match(critical, new RegExp(`Window</div><div class="value">${json.n.toLocaleString('en-US')}</div>`));
  });

  it('answers 404 naming the loaded models for an unknown ?model=', async () => {
    const res = await request(t.app).get('/status?model=fraud').expect(404);
    assert.equal(res.body.error.code, 'unknown_model');
    assert.match(res.body.error.message, /no model named "fraud"; loaded: credit-default/);
  });
});

describe('the status page reload', () => {
  it('reloads as often as the monitor evaluates, between 5 s and 60 s, and every 30 s when evaluations are on demand', () => {
    assert.equal(refreshSeconds(10_000), 10);
    assert.equal(refreshSeconds(60_000), 60);
    assert.equal(refreshSeconds(1_000), 5);
    assert.equal(refreshSeconds(3_600_000), 60);
    assert.equal(refreshSeconds(0), 30);
  });
});

