import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { DatabaseTarget } from '../../src/config.js';
import { DriftMonitor, modelKey } from '../../src/drift/monitor.js';
import { groupsOf } from '../../src/fairness/groups.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { buildModelContext } from '../../src/report/model-context.js';
import type { ModelContext, ModelReport } from '../../src/report/model-report.js';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import type { LabelRow } from '../../src/store/audit-writer-protocol.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { openPostgres } from '../../src/store/postgres.js';
import { BUCKET_MS } from '../../src/store/window-buckets.js';
import { DEMO_MODELS, tempDir } from '../helpers/app.js';
import { assertCohortPathsAgree } from '../helpers/cohort-paths.js';
import { columnsOf, resample } from '../helpers/demo-baseline.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const key = modelKey('credit-default', '1.0.0');
const ROWS = 600;
/** Labelled predictions among them (every one but each fourth). */
const LABELLED = 450;
const tmp = tempDir();
const monitors: DriftMonitor[] = [];
let registry: ModelRegistry;
let ctx: ModelContext;
let records: AuditRecord[];
let labels: LabelRow[];

before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  // Label delay 0: every labelled prediction is matured at once.
  ctx = await buildModelContext(registry.get('credit-default')!, { quantiles: 10, topK: 20, now: new Date(), labelDelayMs: 0 });
  const rows = resample(ROWS);
  const { scores } = await columnsOf(registry, rows);
  // Event times inside the six hours before the current one: wholly matured hours, the same
  // predictions on both paths (the aggregates' cohort ends at the last whole hour).
  const hour = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  records = rows.map((features, i) => {
    const p = scores[i]!;
    const ts = hour - (6 - (i % 6)) * BUCKET_MS + 1000 + i;
    return {
      id: `p${i}`, requestId: 'r', tsMs: ts, eventTsMs: ts, model: 'credit-default', modelVersion: '1.0.0', features, probability: p, decision: p >= 0.2 ? 1 : 0, band: 'low', threshold: 0.2, latencyMs: 1, traceId: 't',
      groups: groupsOf(ctx.fairness!.spec, features, undefined),
    };
  });
  labels = records.filter((_, i) => i % 4 !== 3).map((r): LabelRow => [r.id, rand() < r.probability ? 1 : 0, r.eventTsMs + 1]);
  assert.equal(labels.length, LABELLED);
});
after(async () => {
  for (const m of monitors) await m.close();
  await registry?.close();
  tmp.remove();
});

/** What fairness reads from the matured cohort, per attribute and group (TPR and FPR and their counts). */
const cohortFairness = (r: ModelReport) =>
  r.fairness!.attributes.map((a) => ({
    attribute: a.attribute,
    groups: a.groups.map((g) => ({ group: g.group, labelled: g.labelled, positives: g.positives, negatives: g.negatives, tpr: g.tpr, fpr: g.fpr })),
    equal_opportunity_difference: a.equal_opportunity_difference,
  }));

/** Fairness from the cohort's hourly counts is the section the GROUP BY over its rows gives, with every labelled prediction in it. */
function assertFairnessAgrees(exact: ModelReport, aggregated: ModelReport): void {
  assert.equal(exact.performance!.cohort.path, 'rows');
  assert.equal(aggregated.performance!.cohort.path, 'aggregates');
  const sex = exact.fairness!.attributes.find((a) => a.attribute === 'SEX')!;
  assert.equal(sex.groups.reduce((n, g) => n + g.labelled, 0), LABELLED);
  assert.ok(sex.groups.filter((g) => g.positives > 0 && g.fpr !== null).length >= 2, `positives counted and FPR measured in two groups: ${JSON.stringify(sex.groups)}`);
  assert.deepEqual(aggregated.fairness, exact.fairness);
}

const start = async (db: DatabaseTarget, exactCohortLabels: number) => {
  const m = await DriftMonitor.start({ db, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0, exactCohortLabels });
  monitors.push(m);
  return m;
};

describe('the matured cohort evaluated from its rows or its hourly aggregates, on SQLite', () => {
  const path = join(tmp.dir, 'cohort.db');
  const db = { engine: 'sqlite', path } as const;

  before(async () => {
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    await log.append(records);
    // Labels in three commits, the last for the oldest hours (late labels for old hours).
    for (const part of [labels.slice(150), labels.slice(0, 75), labels.slice(75, 150)]) await log.recordLabels(part, Date.now());
    await log.close();
  });

  it('evaluates a cohort of exactly VIGIA_EXACT_COHORT_LABELS labels from the rows, one label more from the aggregates, and both agree within the stated error', async () => {
    const exact = await (await start(db, LABELLED)).evaluate(key);
    const aggregated = await (await start(db, LABELLED - 1)).evaluate(key);
    assert.equal(exact.performance!.cohort.labelled, LABELLED);
    assertCohortPathsAgree(exact, aggregated);
  });

  it('reads fairness over a cohort judged from its aggregates from the hours\' group counts: the same section as the GROUP BY over its labels', async () => {
    assertFairnessAgrees(await (await start(db, LABELLED)).evaluate(key), await (await start(db, LABELLED - 1)).evaluate(key));
  });

  it('stores the aggregates, and a new evaluation process answers from them the same report', async () => {
    const first = await (await start(db, 0)).evaluate(key);
    const stored = new Database(path, { readonly: true });
    const sums = stored.prepare("SELECT sum(matured) AS matured, sum(labelled) AS labelled FROM cohort_buckets WHERE model = 'credit-default'").get();
    stored.close();
    assert.deepEqual(sums, { matured: ROWS, labelled: LABELLED });
    const restarted = await (await start(db, 0)).evaluate(key);
    assert.deepEqual(restarted.performance, first.performance);
  });
});

const skip = postgresMissing();
describe('the matured cohort evaluated from its rows or its hourly aggregates, on PostgreSQL', { skip }, () => {
  let cluster: PgCluster;
  let db: DatabaseTarget;

  before(async () => {
    cluster = await startPostgres();
    db = { engine: 'postgres', url: cluster.url };
    const pool = await openPostgres({ url: cluster.url, poolSize: 4 });
    const log = new PgAuditLog(pool);
    await log.append(records);
    for (const part of [labels.slice(150), labels.slice(0, 75), labels.slice(75, 150)]) await log.recordLabels(part, Date.now());
    await log.close();
    await pool.end();
  });
  after(async () => {
    for (const m of monitors.splice(0)) await m.close();
    await cluster?.close();
  });

  it('evaluates a cohort of exactly VIGIA_EXACT_COHORT_LABELS labels from the rows, one label more from the aggregates stored in PostgreSQL, and both agree within the stated error', async () => {
    const exact = await (await start(db, LABELLED)).evaluate(key);
    const aggregated = await (await start(db, LABELLED - 1)).evaluate(key);
    assertCohortPathsAgree(exact, aggregated);
    assertFairnessAgrees(exact, aggregated);
  });

  it('a new evaluation process answers from the aggregates stored in PostgreSQL, without reading the labels again', async () => {
    const first = await (await start(db, 0)).evaluate(key);
    // Move the rows out of the cohort's reach: only the stored aggregates can give the same report.
    const pool = await openPostgres({ url: cluster.url, poolSize: 1 });
    await pool.query("UPDATE predictions SET model_version = 'moved' WHERE model_version = '1.0.0'");
    await pool.query("UPDATE labels SET model_version = 'moved' WHERE model_version = '1.0.0'");
    await pool.end();
    const restarted = await (await start(db, 0)).evaluate(key);
    assert.equal(restarted.performance!.cohort.labelled, LABELLED);
    // The realized metrics; the estimate before labels reads the window's rows, which moved too.
    assert.deepEqual(restarted.performance!.cohort, first.performance!.cohort);
    assert.deepEqual(restarted.performance!.realized, first.performance!.realized);
    // Fairness's TPR and FPR too, counted by the stored hours (the window's selection rates read the moved rows).
    assert.deepEqual(cohortFairness(restarted), cohortFairness(first));
  });
});
