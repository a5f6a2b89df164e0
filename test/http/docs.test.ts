import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DOCS_DIR, docFileNames } from '../helpers/docs.js';
import { alertRules } from '../helpers/rules.js';

describe('GET /docs/<name>', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ docsDir: DOCS_DIR });
  });
  after(() => t.close());

  it('serves every runbook as HTML at /docs/alerts, each alert a section with its anchor', async () => {
    const res = await request(t.app).get('/docs/alerts').expect(200);
    assert.match(res.headers['content-type']!, /^text\/html; charset=utf-8/);
    for (const a of alertRules()) assert.match(res.text, new RegExp(`<h3 id="${a.alert.toLowerCase()}">${a.alert}</h3>`), a.alert);
  });

  it('sets headers that let the page run no script, load nothing from elsewhere and never be framed', async () => {
    const res = await request(t.app).get('/docs/alerts').expect(200);
    assert.match(res.headers['content-security-policy']!, /default-src 'none'/);
    assert.match(res.headers['content-security-policy']!, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.doesNotMatch(res.text, /<script/);
  });

  it('lists every docs file at /docs, and answers 404 for any other name, traversal included', async () => {
    const index = await request(t.app).get('/docs').expect(200);
    for (const f of docFileNames()) assert.match(index.text, new RegExp(`href="/docs/${f.slice(0, -3)}"`), f);
    for (const path of ['/docs/nope', '/docs/..%2Fpackage.json', '/docs/alerts.md', '/docs/%2e%2e']) {
      const res = await request(t.app).get(path).expect(404);
      assert.equal(res.body.error.code, 'not_found', path);
    }
  });
});
