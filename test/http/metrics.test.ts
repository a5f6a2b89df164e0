import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { requireTool } from '../helpers/tools.js';
import { collectProcessMetrics } from '../../src/telemetry/metrics.js';

const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
};

describe('GET /metrics', () => {
  let t: TestApp;
  let text: string;
  before(async () => {
    t = await buildTestApp({ maxBatch: 10 });
    collectProcessMetrics(t.metricsRegistry);
    const rows = demoRows(5);
    for (const r of rows) await request(t.app).post('/predict').send({ features: r }).expect(200);
    await request(t.app).post('/v1/models/credit-default/predict').send({ instances: rows }).expect(200);
    await request(t.app).post('/predict').send({ features: { ...rows[0], AGE: 'old' } }).expect(400);
    await request(t.app).post('/predict').set('Content-Type', 'application/json').send('{').expect(400);
    await request(t.app).post('/predict').send({ features: { ...rows[0], EDUCATION: 42 } }).expect(200);
    text = (await request(t.app).get('/metrics').expect(200).expect('Content-Type', /text\/plain/)).text;
  });
  after(() => t.close());

  it('counts predictions by model, version and band, one per row of a batch', () => {
    let total = 0;
    for (const band of ['low', 'moderate', 'critical']) total += sample(text, 'vigia_predictions_total', { model: 'credit-default', version: '1.0.0', band }) ?? 0;
    assert.equal(total, 5 + 5 + 1);
  });

  it('records request durations by route pattern, method and status, with every SLO edge as a bucket', () => {
    assert.equal(sample(text, 'vigia_http_request_duration_seconds_count', { route: '/predict', method: 'POST', status: '200' }), 6);
    assert.equal(sample(text, 'vigia_http_request_duration_seconds_count', { route: '/v1/models/:model/predict', method: 'POST', status: '200' }), 1);
    for (const le of ['0.005', '0.01', '0.025', '0.05', '0.1', '0.15', '0.2', '0.3', '0.5', '1', '2.5']) {
      assert.ok(sample(text, 'vigia_http_request_duration_seconds_bucket', { route: '/predict', le }) !== undefined, `bucket le=${le}`);
    }
    assert.equal(sample(text, 'vigia_http_requests_total', { route: '/predict', status_class: '4xx' }), 2);
  });

  it('exports the OpenTelemetry http.server.request.duration with its standard attributes on the same page', () => {
    const attrs = { http_request_method: 'POST', http_route: '/predict', http_response_status_code: '200', url_scheme: 'http', network_protocol_version: '1.1' };
    assert.equal(sample(text, 'http_server_request_duration_count', attrs), 6);
    assert.equal(sample(text, 'http_server_request_duration_count', { ...attrs, http_response_status_code: '400' }), 2);
    assert.equal(sample(text, 'http_server_request_duration_count', { ...attrs, http_route: '/v1/models/:model/predict' }), 1);
    assert.match(text, /^# TYPE http_server_request_duration histogram$/m);
    assert.match(text, /^# UNIT http_server_request_duration s$/m);
    for (const le of ['0.005', '0.075', '0.75', '10']) assert.ok(sample(text, 'http_server_request_duration_bucket', { ...attrs, le }) !== undefined, `bucket le=${le}`);
    assert.doesNotMatch(text, /error_type=/, 'error.type is set on 5xx answers only');
  });

  it('counts rejected inputs by model and reason', () => {
    assert.equal(sample(text, 'vigia_rejected_inputs_total', { model: 'credit-default', reason: 'wrong_type' }), 1);
    assert.equal(sample(text, 'vigia_rejected_inputs_total', { model: 'credit-default', reason: 'malformed_json' }), 1);
  });

  it('exports inference time, model info, unseen categories, audit commits, load failures and process metrics', () => {
    assert.equal(sample(text, 'vigia_inference_duration_seconds_count', { model: 'credit-default', version: '1.0.0' }), 7);
    assert.equal(sample(text, 'vigia_unseen_categories_total', { model: 'credit-default', feature: 'EDUCATION' }), 1);
    assert.equal(sample(text, 'vigia_audit_rows_total', {}), 11);
    assert.equal(sample(text, 'vigia_model_load_failures_total', {}), 0);
    assert.ok(sample(text, 'process_cpu_user_seconds_total', {}) !== undefined);
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds', {}) !== undefined);
  });

  it('passes promtool check metrics', () => {
    const promtool = requireTool('promtool');
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool says:\n${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', `promtool has lint findings:\n${r.stdout}${r.stderr}`);
  });
});
