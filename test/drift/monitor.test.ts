import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { modelKey } from '../../src/drift/monitor.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';
import { assertPathsAgree } from '../helpers/window-paths.js';

describe('DriftMonitor', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
    await request(t.app).post('/predict').send({ instances: resample(150) }).expect(200);
  });
  after(() => t.close());

  it('starts a new evaluation process when the old one died, and the window is rebuilt from the audit log', async () => {
    const monitor = t.monitor!;
    const key = modelKey('credit-default', '1.0.0');
    assert.equal((await monitor.evaluate(key)).n, 150);
    const pid = monitor.evaluatorPid!;
    process.kill(pid, 'SIGKILL');
    // The evaluation running into the dead process fails; the next one starts a new process.
    await new Promise((r) => setTimeout(r, 200));
    const report = await monitor.evaluate(key);
    assert.equal(report.n, 150);
    assert.notEqual(monitor.evaluatorPid, pid);
  });

  it('answers an evaluation asked while another runs with a new one that covers every row committed before the ask', async () => {
    const monitor = t.monitor!;
    const key = modelKey('credit-default', '1.0.0');
    const before = (await monitor.evaluate(key)).n;
    const running = monitor.evaluate(key);
    // Committed while that evaluation runs (it may already have read its window).
    await request(t.app).post('/predict').send({ instances: resample(40) }).expect(200);
    const [first, asked] = await Promise.all([running, monitor.evaluate(key)]);
    assert.ok(first.n === before || first.n === before + 40);
    assert.equal(asked.n, before + 40);
  });

  it('lets the callers that ask while an evaluation runs share the one evaluation that follows it', async () => {
    const monitor = t.monitor!;
    const key = modelKey('credit-default', '1.0.0');
    const running = monitor.evaluate(key);
    const asked = [monitor.evaluate(key), monitor.evaluate(key), monitor.evaluate(key)];
    assert.notEqual(asked[0], running);
    assert.ok(asked.every((p) => p === asked[0]));
    await Promise.all([running, ...asked]);
  });

  it('runs the evaluation at a lower scheduling priority than the service', async () => {
    const { getPriority } = await import('node:os');
    assert.ok(getPriority(t.monitor!.evaluatorPid!) > getPriority(process.pid));
  });
});

describe('DriftMonitor at the boundary between the exact and the aggregate window', () => {
  let exact: TestApp;
  let aggregated: TestApp;
  const rows = resample(400).map((r, i) => ({ ...r, LIMIT_BAL: i % 2 === 0 ? r['LIMIT_BAL']! * 2 : r['LIMIT_BAL']!, BILL_AMT1: r['BILL_AMT1']! + 5000 }));
  before(async () => {
    exact = await buildTestApp({ drift: true, exactWindowRows: 400 });
    aggregated = await buildTestApp({ drift: true, exactWindowRows: 399 });
    for (const t of [exact, aggregated]) await request(t.app).post('/predict').send({ instances: rows }).expect(200);
  });
  after(async () => {
    await exact.close();
    await aggregated.close();
  });

  it('evaluates a window of exactly VIGIA_EXACT_WINDOW_ROWS rows from the rows, one row more from the aggregates, and both agree within the sketch error', async () => {
    const key = modelKey('credit-default', '1.0.0');
    const a = await exact.monitor!.evaluate(key);
    const b = await aggregated.monitor!.evaluate(key);
    assert.equal(a.n, 400);
    assertPathsAgree(a, b);
  });
});
