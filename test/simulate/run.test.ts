import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CsvError } from '../../src/data/csv.js';
import { UsageError } from '../../src/errors.js';
import { ServiceUnreachable } from '../../src/client/http.js';
import { exitCodeOf, simulate, type SimulateOptions } from '../../src/simulate/run.js';
import { DEMO_MODELS, buildTestApp, tempDir, type TestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';

const DAY = 86_400_000;
const BUNDLE = join(DEMO_MODELS, 'credit-default');
const base = (url: string, extra: Partial<SimulateOptions> = {}): SimulateOptions => ({
  url, bundle: BUNDLE, batch: 1, concurrency: 4, seed: 1, scenario: 'stable', params: {}, timeoutMs: 10_000, rows: 200, ...extra,
});

describe('vigia simulate against a running service', () => {
  let t: TestApp;
  let server: { url: string; close: () => Promise<void> };
  const tmp = tempDir('vigia-sim-');
  before(async () => {
    t = await buildTestApp({ eventTime: { accept: true, maxAgeMs: 400 * DAY } });
    server = await listen(t.app);
  });
  after(async () => {
    await server.close();
    await t.close();
    tmp.remove();
  });
  const count = (): number => (t.db.prepare('SELECT count(*) FROM predictions').pluck().get() as number);

  it('replays rows, one per request, and every answered prediction is in the audit log', async () => {
    const before = count();
    const progress: number[] = [];
    const s = await simulate(base(server.url), { onProgress: (p) => progress.push(p.answered), progressEveryMs: 50 });
    assert.equal(s.requests.sent, 200);
    assert.equal(s.requests.answered, 200);
    assert.deepEqual(s.requests.failures, {});
    assert.equal(s.rows.answered, 200);
    assert.equal(count() - before, 200);
    assert.equal(s.model, 'credit-default');
    assert.equal(s.source.rows, 5000);
    assert.ok(s.latency_ms!.p50 > 0 && s.latency_ms!.p50 <= s.latency_ms!.p95 && s.latency_ms!.p95 <= s.latency_ms!.p99);
    assert.equal(progress.at(-1), 200, 'a last progress report at the end');
    assert.equal(exitCodeOf(s), 0);
  });

  it('sends batches with event times spread evenly over the last days, rising with the commit order', async () => {
    const startedAt = Date.now();
    const s = await simulate(base(server.url, { rows: 1000, batch: 100, spreadDays: 7, concurrency: 1 }));
    assert.equal(s.requests.sent, 10);
    assert.equal(s.rows.answered, 1000);
    const rows = t.db.prepare('SELECT event_ts_ms, ts_ms FROM predictions ORDER BY seq DESC LIMIT 1000').all().reverse() as { event_ts_ms: number; ts_ms: number }[];
    const first = rows[0]!.event_ts_ms;
    const last = rows.at(-1)!.event_ts_ms;
    assert.ok(Math.abs(first - (startedAt - 7 * DAY + 0.7 * DAY)) < 60_000, `first event ${new Date(first).toISOString()}`);
    assert.ok(Math.abs(last - startedAt) < 60_000);
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.event_ts_ms >= rows[i - 1]!.event_ts_ms, 'event times rise');
    for (const r of rows) assert.ok(r.ts_ms >= startedAt, 'the decision time stays the server clock');
    assert.equal(s.event_time!.to, new Date(last).toISOString());
  });

  it('holds a fixed rate, open loop', async () => {
    const s = await simulate(base(server.url, { rows: 60, rate: 100 }));
    assert.equal(s.requests.answered, 60);
    assert.ok(s.duration_seconds >= 0.55 && s.duration_seconds < 2, `${s.duration_seconds} s`);
  });

  it('posts the reference labels of the answered predictions after the delay', async () => {
    const s = await simulate(base(server.url, { rows: 150, labelsAfterMs: 300 }));
    assert.equal(s.labels!.queued, 150);
    assert.equal(s.labels!.accepted, 150);
    assert.equal(s.labels!.failed, 0);
    const stored = t.db.prepare('SELECT count(*) FROM labels').pluck().get() as number;
    assert.ok(stored >= 150);
  });

  it('gives up and exits 1 when the service refuses every request, with the service\'s error', async () => {
    const strict = await buildTestApp();
    const other = await listen(strict.app);
    try {
      const s = await simulate(base(other.url, { spreadDays: 7 }));
      assert.equal(s.requests.answered, 0);
      assert.match(s.stopped!, /^the first \d+ requests all failed$/);
      assert.ok(s.requests.sent < 200);
      assert.match(s.requests.failures['400']!.example, /^event_time_not_accepted: .*VIGIA_ACCEPT_EVENT_TIME=true/);
      assert.equal(exitCodeOf(s), 1);
    } finally {
      await other.close();
      await strict.close();
    }
  });

  it('says the service is unreachable, naming the address and the error', async () => {
    const gone = await listen(t.app);
    await gone.close();
    await assert.rejects(simulate(base(gone.url)), (err: unknown) => err instanceof ServiceUnreachable && err.message === `cannot reach the service at ${gone.url}: ECONNREFUSED`);
  });

  it('names the flag and the value of a model the service does not serve, and of a file that lacks a feature', async () => {
    await assert.rejects(simulate(base(server.url, { model: 'fraud' })), (err: unknown) => err instanceof UsageError && /^--model "fraud": the service at .* has no such model; it serves credit-default$/.test(err.message));
    const file = join(tmp.dir, 'short.csv');
    writeFileSync(file, 'LIMIT_BAL,AGE\n1000,30\n');
    await assert.rejects(simulate(base(server.url, { csv: file })), (err: unknown) => err instanceof CsvError && /short.csv:1: .*SEX/.test(err.message));
    await assert.rejects(simulate(base(server.url, { csv: file.replace('short', 'absent') })), /ENOENT/);
    const unlabelled = join(tmp.dir, 'unlabelled.csv');
    writeFileSync(unlabelled, 'LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6,BILL_AMT1,BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,PAY_AMT6\n' + '50000,2,2,1,37,0,0,0,0,0,0,1,1,1,1,1,1,1,1,1,1,1,1\n');
    await assert.rejects(simulate(base(server.url, { csv: unlabelled, labelsAfterMs: 0 })), /^UsageError: --labels-after "0s": .*unlabelled.csv has no label column "default.payment.next.month"/);
    const s = await simulate(base(server.url, { csv: unlabelled, rows: 3 }));
    assert.equal(s.requests.answered, 3, 'a one-row file is replayed round and round');
  });
});
