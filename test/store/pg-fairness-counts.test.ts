import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { FairnessSpec } from '../../src/fairness/groups.js';
import { DEFAULT_FAIRNESS_THRESHOLDS } from '../../src/fairness/metrics.js';
import { buildFairnessReport, countGroups } from '../../src/fairness/report.js';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { FairnessCountReader } from '../../src/store/fairness-counts.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgFairnessCountReader } from '../../src/store/pg-fairness-counts.js';
import { openPostgres } from '../../src/store/postgres.js';
import { tempDir } from '../helpers/app.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
const tmp = tempDir();

const T0 = Date.UTC(2026, 10, 20);
const SEXES = ['1', '2'];
const BANDS = ['<25', '25-35', '35-45', '45-60', '>=60', 'missing'];
const spec: FairnessSpec = {
  minGroupSize: 50,
  favorableDecision: 0,
  attributes: [
    { name: 'SEX', source: 'feature', feature: 'SEX', edges: undefined, reference: '2', groups: [...SEXES, 'other', 'missing'] },
    { name: 'AGE_BAND', source: 'feature', feature: 'AGE', edges: [25, 35, 45, 60], reference: '25-35', groups: BANDS },
  ],
};

/** 4,000 predictions over two days (a seeded generator: decisions and labels depend on the groups), 60 % labelled. */
function rows(): { records: AuditRecord[]; labels: [string, 0 | 1, number][] } {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const records: AuditRecord[] = [];
  const labels: [string, 0 | 1, number][] = [];
  for (let i = 0; i < 4000; i++) {
    const sex = SEXES[Math.floor(rand() * 2)]!;
    const band = BANDS[Math.floor(rand() * BANDS.length)]!;
    const p = Math.min(0.99, rand() * (band === '<25' ? 0.9 : 0.6) + (sex === '1' ? 0.05 : 0));
    const id = `f${String(i).padStart(5, '0')}`;
    const t = T0 + i * 40_000;
    records.push({ id, requestId: id, tsMs: t, eventTsMs: t, model: 'm', modelVersion: '1', features: {}, probability: p, decision: p >= 0.3 ? 1 : 0, band: 'low', threshold: 0.3, latencyMs: 1, traceId: 't', groups: { SEX: sex, AGE_BAND: band } });
    if (rand() < 0.6) labels.push([id, rand() < p ? 1 : 0, t + 1000]);
  }
  return { records, labels };
}

describe('fairness counts on PostgreSQL', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.close();
    tmp.remove();
  });

  it('gives the same counts, and so the same fairness report, as SQLite on the same rows', async () => {
    const { records, labels } = rows();
    const path = join(tmp.dir, 'fair.db');
    openDatabase({ path, synchronous: 'NORMAL' }).close();
    const sqliteLog = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    const pool = await openPostgres({ url: cluster.url, poolSize: 2 });
    const pgLog = new PgAuditLog(pool);
    for (let i = 0; i < records.length; i += 500) {
      await sqliteLog.append(records.slice(i, i + 500));
      await pgLog.append(records.slice(i, i + 500));
    }
    await sqliteLog.recordLabels(labels, T0);
    await pgLog.recordLabels(labels, T0);
    await sqliteLog.close();

    const db = new Database(path, { readonly: true });
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    const lite = new FairnessCountReader(db);
    const pgReader = new PgFairnessCountReader(async () => client);
    // The window: the second day; the cohort: the first.
    const window = { from: T0 + 86_400_000, to: T0 + 2 * 86_400_000 };
    const cohort = { from: T0, to: T0 + 86_400_000 };
    const sorted = <T extends readonly unknown[]>(xs: T[]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const liteWindow = lite.windowCounts('m', '1', window.from, window.to);
    const liteCohort = lite.cohortCounts('m', '1', cohort.from, cohort.to);
    const pgWindow = await pgReader.windowCounts('m', '1', window.from, window.to);
    const pgCohort = await pgReader.cohortCounts('m', '1', cohort.from, cohort.to);
    assert.deepEqual(sorted(pgWindow), sorted(liteWindow));
    assert.deepEqual(sorted(pgCohort), sorted(liteCohort));
    assert.ok(liteWindow.length >= 20 && liteCohort.length >= 40, 'every combination of groups, decision and label is there');

    const report = (w: typeof liteWindow, c: typeof liteCohort) => buildFairnessReport(spec, countGroups(spec, w, c), DEFAULT_FAIRNESS_THRESHOLDS);
    const fromPg = report(pgWindow, pgCohort);
    assert.deepEqual(fromPg, report(liteWindow, liteCohort));
    assert.notEqual(fromPg.status, 'insufficient_data', 'the report judges: groups are above the minimum');
    assert.ok(fromPg.attributes.every((a) => a.groups.some((g) => g.tpr !== null)), 'the cohort counts reached the TPRs');

    db.close();
    await client.end();
    await pgLog.close();
    await pool.end();
  });
});
