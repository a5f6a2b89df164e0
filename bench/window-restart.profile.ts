// `node --import tsx bench/window-restart.profile.ts`: where the first evaluation after a
// restart spends its time on PostgreSQL (docs/fleet.md, "The window on either engine"). A
// window of BENCH_WINDOW_ROWS rows (default 1,000,000) of the demo model is written through
// the audit log and folded once into stored hourly buckets by the real evaluation process.
// Then BENCH_REPS times (medians), alternately with the buckets stored raw (as before
// src/store/bucket-bytes.ts) and deflated (now), the same buckets each time:
//   - the real evaluation process's first evaluation in a new process (it runs niced, so on
//     a loaded machine it waits for the CPU behind everything else);
//   - the same steps in this process, timed apart: reading the stored buckets, decoding
//     them (base64, inflate), loading them into the hourly buckets, merging, building the
//     report (baselines, PSI, chi-square, KS from the sketches), and the whole refresh
//     (cursor, buckets, and the fold of what was committed since: nothing).
// The fold's query plan is printed. Results: stdout and bench/results/window-restart.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { DriftMonitor, modelKey } from '../src/drift/monitor.js';
import { buildModelBaseline } from '../src/drift/reference.js';
import { buildAggregateReport } from '../src/drift/report.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../src/drift/severity.js';
import { windowAggregateLayout } from '../src/drift/window-aggregate.js';
import { loadModels } from '../src/model/registry.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import type { AuditRecord } from '../src/store/audit-log.js';
import { PgAuditLog } from '../src/store/pg-audit-log.js';
import { PgWindowBuckets } from '../src/store/pg-window-buckets.js';
import { connectionConfig, openPostgres } from '../src/store/postgres.js';
import { BUCKET_MS, HourlyBuckets } from '../src/store/window-buckets.js';
import { packBucket, unpackBucket } from '../src/store/bucket-bytes.js';
import { demoRows } from '../test/helpers/demo-rows.js';
import { startPostgres } from '../test/helpers/postgres.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env['BENCH_WINDOW_ROWS'] ?? 1_000_000);
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const time = async <T>(into: number[], f: () => Promise<T> | T): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  into.push((performance.now() - t0) / 1000);
  return r;
};

const registry = await loadModels(join(ROOT, 'models'), undefined);
const model = registry.get('credit-default')!;
const ctx = { baseline: await buildModelBaseline(model, { quantiles: 10, topK: 20, now: new Date() }), bands: model.manifest.bands, thresholds: DEFAULT_DRIFT_THRESHOLDS };
const cluster = await startPostgres({ fsync: true });
const result: Record<string, unknown> = { date: new Date().toISOString(), rows: ROWS };
try {
  const pool = await openPostgres({ url: cluster.url, poolSize: 4 });
  const audit = new PgAuditLog(pool);
  const names = model.manifest.features.map((f) => f.name);
  const rows = demoRows(5000);
  const start = Date.now() - 6 * 86_400_000;
  log(`writing ${ROWS} rows`);
  const x = new Float32Array(10_000 * names.length);
  for (let done = 0; done < ROWS; done += 10_000) {
    const n = Math.min(10_000, ROWS - done);
    const chosen = Array.from({ length: n }, (_, i) => rows[((done + i) * 7919) % rows.length]!);
    chosen.forEach((r, i) => names.forEach((f, j) => { x[i * names.length + j] = r[f]!; }));
    const scores = await model.scorer!.score(x, n);
    const batch: AuditRecord[] = chosen.map((features, i) => {
      const ts = start + Math.floor(((done + i) / ROWS) * 5.9 * 86_400_000);
      const p = scores[i]!;
      return { id: newPredictionId(ts), requestId: 'bench', tsMs: ts, eventTsMs: ts, model: 'credit-default', modelVersion: '1.0.0', features, probability: p, decision: p >= 0.2 ? 1 : 0, band: p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', threshold: 0.2, latencyMs: 1, traceId: '0'.repeat(32) };
    });
    await audit.append(batch);
  }
  await audit.close();
  await pool.end();
  log('first evaluation ever (folds every row into the stored buckets)');
  const monitor = await DriftMonitor.start({ db: { engine: 'postgres', url: cluster.url }, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0 });
  const t0 = performance.now();
  await monitor.evaluate(modelKey('credit-default', '1.0.0'));
  result['first_ever_s'] = Number(((performance.now() - t0) / 1000).toFixed(3));
  await monitor.close();
  const layout = windowAggregateLayout(ctx.baseline, ctx.bands);
  const fromMs = Date.now() - 7 * 86_400_000;
  const first = Math.floor(fromMs / BUCKET_MS);
  const c = new pg.Client(connectionConfig(cluster.url));
  await c.connect();
  const plan = await c.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT features, probability, event_ts_ms, latency_ms FROM predictions
     WHERE model = $1 AND model_version = $2 AND tx >= (SELECT through_tx FROM window_cursors) AND tx < pg_snapshot_xmin(pg_current_snapshot()) AND event_ts_ms >= $3`,
    ['credit-default', '1.0.0', first * BUCKET_MS]);
  const planText = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
  log(planText);
  result['fold_plan'] = planText.split('\n');
  // The stored buckets, raw, to write back in either form.
  const rawBytes = layout.size * 8;
  const raw = (await c.query<[string, Buffer]>({ text: 'SELECT bucket_start_ms, data FROM window_buckets', rowMode: 'array' })).rows.map(([s, d]) => [s, Buffer.from(unpackBucket(d, rawBytes)!)] as const);
  const storeAs = async (form: 'raw' | 'deflated') => {
    await c.query('BEGIN');
    for (const [startMs, d] of raw) await c.query('UPDATE window_buckets SET data = $1 WHERE bucket_start_ms = $2', [form === 'raw' ? d : packBucket(d), startMs]);
    await c.query('COMMIT');
    await c.query('VACUUM window_buckets');
    return Number((await c.query<{ n: string }>('SELECT sum(length(data)) AS n FROM window_buckets')).rows[0]!.n);
  };
  const forms = ['raw', 'deflated'] as const;
  const phases = () => ({ evaluation_process_first_s: [] as number[], read_s: [] as number[], decode_s: [] as number[], load_s: [] as number[], merge_s: [] as number[], report_s: [] as number[], refresh_s: [] as number[] });
  const by = { raw: phases(), deflated: phases() };
  const storedBytes: Record<string, number> = {};
  for (let rep = 0; rep < REPS; rep++) {
    for (const form of forms) {
      storedBytes[form] = await storeAs(form);
      const t = by[form];
      const m = await DriftMonitor.start({ db: { engine: 'postgres', url: cluster.url }, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0 });
      await time(t.evaluation_process_first_s, () => m.evaluate(modelKey('credit-default', '1.0.0')));
      await m.close();
      const stored = await time(t.read_s, () => c.query<[string, string, string]>({
        text: "SELECT bucket_start_ms, rows, encode(data, 'base64') FROM window_buckets WHERE model = $1 AND model_version = $2 AND layout = $3 AND bucket_start_ms >= $4",
        values: ['credit-default', '1.0.0', layout.hash, first * BUCKET_MS], rowMode: 'array',
      }));
      const decoded = await time(t.decode_s, () => stored.rows.map(([s, n, d]) => [Number(s) / BUCKET_MS, Number(n), unpackBucket(Buffer.from(d, 'base64'), rawBytes)!] as const));
      const held = new HourlyBuckets(layout);
      await time(t.load_s, () => { for (const [h, n, b] of decoded) held.load(h, n, b); });
      const merged = await time(t.merge_s, () => held.window(first));
      await time(t.report_s, () => buildAggregateReport(ctx, { layout, ...merged }, { fromMs: merged.fromMs, toMs: Date.now() }, new Date()));
      await time(t.refresh_s, () => new PgWindowBuckets(c, layout).refresh(fromMs));
      log(`  rep ${rep + 1} ${form}: evaluation process ${t.evaluation_process_first_s.at(-1)!.toFixed(2)} s, read ${t.read_s.at(-1)!.toFixed(3)} s, refresh ${t.refresh_s.at(-1)!.toFixed(3)} s`);
    }
  }
  result['stored_bytes'] = storedBytes;
  result['medians_s'] = Object.fromEntries(forms.map((f) => [f, Object.fromEntries(Object.entries(by[f]).map(([k, v]) => [k, Number(median(v).toFixed(3))]))]));
  result['runs_s'] = by;
  result['load_average'] = loadavg();
  log(JSON.stringify(result['medians_s']));

  await c.end();
} finally {
  if (process.env['BENCH_KEEP'] === '1') log(`kept: ${cluster.url}`);
  else await cluster.close();
  await registry.close();
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(resolve(ROOT, 'bench', 'results', process.env['BENCH_RESULTS'] ?? 'window-restart.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
