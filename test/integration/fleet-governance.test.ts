import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { verifyArchives } from '../../src/store/archive-verify.js';
import type { AuditRecord } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { openPostgres } from '../../src/store/postgres.js';
import { tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/stack.js';

const skip = postgresMissing();
let cluster: PgCluster;
let vigia: VigiaProcess;
const tmp = tempDir();
const archiveDir = join(tmp.dir, 'archive');
/** Three years ago: past the default retention of 730 days. */
const OLD = Date.UTC(new Date().getUTCFullYear() - 3, 4, 10);

const post = (path: string, body: unknown) => fetch(`${vigia.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('governance on a fleet replica (PostgreSQL)', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
    const pool = await openPostgres({ url: cluster.url, poolSize: 2 });
    const log = new PgAuditLog(pool);
    const records: AuditRecord[] = Array.from({ length: 500 }, (_x, i) => ({
      id: `old-${String(i).padStart(4, '0')}`, requestId: 'r', tsMs: OLD + i, eventTsMs: OLD + i, model: 'credit-default', modelVersion: '1.0.0', features: {},
      probability: 0.1, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't',
    }));
    await log.append(records);
    await log.close();
    await pool.end();
    vigia = await startVigia({ VIGIA_DB: cluster.url, VIGIA_LOG_LEVEL: 'warn', VIGIA_LEADER_POLL: '200ms', VIGIA_EVAL_INTERVAL: '0s', VIGIA_RETENTION_INTERVAL: '1s', VIGIA_ARCHIVE_DIR: archiveDir });
  });
  after(async () => {
    vigia?.proc.kill('SIGTERM');
    await vigia?.exited;
    await cluster?.close();
    tmp.remove();
  });

  it('archives and drops the months past retention while serving, counting the rows in vigia_audit_archived_rows_total', async () => {
    const [row] = demoRows(1);
    assert.equal((await post('/predict', { features: row })).status, 200);
    await waitFor('the archived rows to be counted', 30_000, async () => {
      const text = await (await fetch(`${vigia.url}/metrics`)).text();
      return /^vigia_audit_archived_rows_total 500$/m.test(text) ? true : undefined;
    });
    assert.match(await (await fetch(`${vigia.url}/metrics`)).text(), /^vigia_audit_retention_failures_total 0$/m);
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    const left = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM predictions')).rows[0]!.n);
    await client.end();
    assert.equal(left, 1, 'the old month is gone, the new prediction stays');
    const archives = verifyArchives(archiveDir, 'postgres');
    assert.equal(archives.ok, true, archives.firstBreak?.reason);
    assert.equal(archives.rows, 500);
  });

  it('serves a fleet report with the fairness section, evaluated on PostgreSQL', async () => {
    const rows = demoRows(200);
    assert.equal((await post('/predict', { instances: rows })).status, 200);
    const report = await waitFor('a report that counted the new rows', 30_000, async () => {
      await fetch(`${vigia.url}/v1/models/credit-default/report?refresh=true`);
      const r = await fetch(`${vigia.url}/v1/models/credit-default/report`);
      if (r.status !== 200) return undefined;
      const body = (await r.json()) as { fairness?: { attributes: { attribute: string; groups: { n: number }[] }[] } };
      const sex = body.fairness?.attributes.find((a) => a.attribute === 'SEX');
      return sex !== undefined && sex.groups.reduce((s, g) => s + g.n, 0) >= 201 ? body : undefined;
    });
    assert.deepEqual(report.fairness!.attributes.map((a) => a.attribute), ['SEX', 'EDUCATION', 'MARRIAGE', 'AGE_BAND']);
  });
});
