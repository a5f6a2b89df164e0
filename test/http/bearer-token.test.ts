import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { bearerGuard } from '../../src/http/bearer-token.js';
import { errorHandler } from '../../src/http/errors.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Registry } from 'prom-client';

function guarded(token: string | undefined) {
  const refused: number[] = [];
  const app = express();
  app.use(bearerGuard({ token, what: 'the thing', setting: 'THING_TOKEN', onRefused: (s) => refused.push(s) }));
  app.get('/x', (_req, res) => res.json({ ok: true }));
  app.use(errorHandler(createMetrics(new Registry()), silentLogger));
  return { app, refused };
}

describe('bearer tokens', () => {
  it('answers 401 without a header, 403 with a wrong token, and lets the right token through', async () => {
    const { app, refused } = guarded('right-token-right-token');
    const missing = await request(app).get('/x').expect(401);
    assert.equal(missing.body.error.code, 'unauthorized');
    assert.match(missing.body.error.message, /needs "Authorization: Bearer <token>" with the token set in THING_TOKEN/);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="vigia"');
    await request(app).get('/x').set('authorization', 'Bearer wrong-token-of-length').expect(403);
    await request(app).get('/x').set('authorization', 'Bearer wrong').expect(403);
    await request(app).get('/x').set('authorization', 'Bearer right-token-right-token').expect(200);
    assert.deepEqual(refused, [401, 403, 403]);
  });

  it('closes the routes (403) when no token is configured, even to a request carrying one', async () => {
    const { app } = guarded(undefined);
    const r = await request(app).get('/x').set('authorization', 'Bearer anything').expect(403);
    assert.match(r.body.error.message, /the thing is disabled: no token is configured \(set THING_TOKEN\)/);
  });
});
