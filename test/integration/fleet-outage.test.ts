import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoRows } from '../helpers/demo-rows.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/stack.js';

const skip = postgresMissing();
let cluster: PgCluster;
let vigia: VigiaProcess;

const post = (path: string, body: unknown) => fetch(`${vigia.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('a replica on PostgreSQL when the database goes away', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
    vigia = await startVigia({ VIGIA_DB: cluster.url, VIGIA_LOG_LEVEL: 'warn', VIGIA_LEADER_POLL: '200ms', VIGIA_EVAL_INTERVAL: '0s' });
  });
  after(async () => {
    vigia?.proc.kill('SIGTERM');
    await vigia?.exited;
    await cluster?.close();
  });

  it('says so on /readyz, answers predictions 503 with a clear code, and recovers by itself when it is back', async () => {
    const [row] = demoRows(1);
    assert.equal((await post('/predict', { features: row })).status, 200);
    assert.equal((await fetch(`${vigia.url}/readyz`)).status, 200);

    cluster.stop();
    try {
      const ready = await waitFor('/readyz to report the database', 10_000, async () => {
        const r = await fetch(`${vigia.url}/readyz`);
        return r.status === 503 ? ((await r.json()) as { checks: Record<string, string> }) : undefined;
      });
      assert.match(ready.checks['database']!, /PostgreSQL is unreachable|PostgreSQL did not answer/);
      const res = await post('/predict', { features: row });
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'audit_log_unavailable');
      assert.match(body.error.message, /could not be written to the audit log, so it is not answered/);
      const labels = await post('/v1/labels', { labels: [{ prediction_id: 'x', label: 1 }] });
      assert.equal(labels.status, 503);
      assert.equal(((await labels.json()) as { error: { code: string } }).error.code, 'label_store_unavailable');
    } finally {
      cluster.start();
    }

    await waitFor('/readyz to be ready again', 15_000, async () => ((await fetch(`${vigia.url}/readyz`)).status === 200 ? true : undefined));
    const again = await post('/predict', { features: row });
    assert.equal(again.status, 200, 'predictions are answered again without a restart');
    const id = ((await again.json()) as { prediction_id: string }).prediction_id;
    const label = (await (await post('/v1/labels', { labels: [{ prediction_id: id, label: 1 }] })).json()) as { accepted: number };
    assert.equal(label.accepted, 1);
  });
});
