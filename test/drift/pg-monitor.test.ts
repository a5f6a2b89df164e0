import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { DriftMonitor, modelKey } from '../../src/drift/monitor.js';
import { groupsOf } from '../../src/fairness/groups.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { buildModelContext } from '../../src/report/model-context.js';
import type { ModelContext } from '../../src/report/model-report.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { openPostgres } from '../../src/store/postgres.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { columnsOf, resample } from '../helpers/demo-baseline.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { assertPathsAgree } from '../helpers/window-paths.js';

const skip = postgresMissing();
const key = modelKey('credit-default', '1.0.0');

describe('DriftMonitor on PostgreSQL with the window as hourly aggregates', { skip }, () => {
  let cluster: PgCluster;
  let registry: ModelRegistry;
  let ctx: ModelContext;
  let url: string;
  const monitors: DriftMonitor[] = [];
  let write: (url: string) => Promise<pg.Pool>;
  const start = async (exactWindowRows: number, to = url) => {
    const m = await DriftMonitor.start({ db: { engine: 'postgres', url: to }, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0, exactWindowRows });
    monitors.push(m);
    return m;
  };

  before(async () => {
    cluster = await startPostgres();
    url = cluster.url;
    registry = await loadModels(DEMO_MODELS, undefined);
    ctx = await buildModelContext(registry.get('credit-default')!, { quantiles: 10, topK: 20, now: new Date() });
    // The rows of the SQLite boundary test: LIMIT_BAL doubled on half of them, BILL_AMT1 shifted.
    const rows = resample(400).map((r, i) => ({ ...r, LIMIT_BAL: i % 2 === 0 ? r['LIMIT_BAL']! * 2 : r['LIMIT_BAL']!, BILL_AMT1: r['BILL_AMT1']! + 5000 }));
    const { scores } = await columnsOf(registry, rows);
    write = async (to: string) => {
      const pool = await openPostgres({ url: to, poolSize: 4 });
      const log = new PgAuditLog(pool);
      const now = Date.now();
      // Four commits, each its own transaction, spread over the last hours.
      for (let k = 0; k < 4; k++) {
        await log.append(rows.slice(k * 100, (k + 1) * 100).map((features, i) => {
          const p = scores[k * 100 + i]!;
          return {
            id: `p${k}-${i}`, requestId: 'r', tsMs: now, eventTsMs: now - (4 - k) * 3_600_000 + i, model: 'credit-default', modelVersion: '1.0.0', features, probability: p, decision: p >= 0.2 ? 1 : 0, band: 'low', threshold: 0.2, latencyMs: 1 + i / 10, traceId: 't',
            groups: groupsOf(ctx.fairness!.spec, features, undefined),
          } as const;
        }));
      }
      await log.close();
      return pool;
    };
    await (await write(url)).end();
  });
  after(async () => {
    for (const m of monitors) await m.close();
    await registry?.close();
    await cluster?.close();
  });

  it('evaluates a window of exactly VIGIA_EXACT_WINDOW_ROWS rows from the rows, one row more from the aggregates stored in PostgreSQL, and both agree within the sketch error', async () => {
    const exact = await (await start(400)).evaluate(key);
    const aggregated = await (await start(399)).evaluate(key);
    assert.equal(exact.n, 400);
    assertPathsAgree(exact, aggregated);
  });

  it('reads fairness over a window judged from its aggregates from the buckets\' group counts: the same section as the GROUP BY over the rows', async () => {
    const fromRows = (await (await start(400)).evaluate(key)).fairness;
    const fromBuckets = (await (await start(399)).evaluate(key)).fairness;
    assert.ok(fromRows !== undefined);
    assert.equal(fromRows.attributes.find((a) => a.attribute === 'SEX')!.groups.reduce((n, g) => n + g.n, 0), 400);
    assert.deepEqual(fromBuckets, fromRows);
    // Counted by the buckets, not read from the rows: with the rows moved out of the window's
    // reach, a new evaluation process gives the same section from the stored buckets alone.
    const other = await cluster.createDatabase('fairness');
    const pool = await write(other);
    const stored = (await (await start(0, other)).evaluate(key)).fairness;
    assert.deepEqual(stored, fromRows);
    await pool.query("UPDATE predictions SET model_version = 'moved' WHERE model_version = '1.0.0'");
    await pool.end();
    assert.deepEqual((await (await start(0, other)).evaluate(key)).fairness, fromRows);
  });

  it('stores the hourly aggregates only for the current leader term it is given', async () => {
    const pool = await write(await cluster.createDatabase('fenced'));
    await pool.query("INSERT INTO leader_terms (replica) VALUES ('a'), ('b')");
    const monitor = await start(0, `${url.slice(0, url.lastIndexOf('/'))}/fenced`);
    assert.equal((await monitor.evaluate(key, 1)).n, 400, 'a deposed leader still answers its evaluation');
    assert.deepEqual((await pool.query('SELECT count(*)::int AS n FROM window_cursors')).rows, [{ n: 0 }], 'but stores nothing');
    assert.equal((await monitor.evaluate(key, 2)).n, 400);
    assert.deepEqual((await pool.query('SELECT term::int AS term, (SELECT sum(rows)::int FROM window_buckets) AS rows FROM window_cursors')).rows, [{ term: 2, rows: 400 }]);
    await pool.end();
  });

  it('a new evaluation process answers from the hourly aggregates stored in PostgreSQL, without reading the rows again', async () => {
    const first = await (await start(0)).evaluate(key);
    // Move the rows out of the window's reach: only the stored buckets can give the same report.
    const pool = await openPostgres({ url, poolSize: 1 });
    await pool.query("UPDATE predictions SET model_version = 'moved' WHERE model_version = '1.0.0'");
    await pool.end();
    const restarted = await (await start(0)).evaluate(key);
    assert.equal(restarted.n, 400);
    assert.deepEqual(restarted.features, first.features);
    assert.deepEqual(restarted.prediction, first.prediction);
  });
});
