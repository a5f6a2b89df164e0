import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Logger } from '../../src/telemetry/logger.js';
import { checkpointRecorder, createMetrics } from '../../src/telemetry/metrics.js';

describe('checkpointRecorder', () => {
  it('sets the pending pages of each pass, counts every failed pass, and logs a run of failures once, and once its end', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const lines: string[] = [];
    const logger: Logger = { debug() {}, info: (m) => lines.push(`info ${m}`), warn: (m, f) => lines.push(`warn ${m} ${JSON.stringify(f)}`), error() {} };
    const record = checkpointRecorder(metrics, logger);
    const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;
    record({ kind: 'pass', ok: true, pending: 12 });
    assert.equal(await value('vigia_audit_wal_pending_pages'), 12);
    for (let i = 0; i < 3; i++) record({ kind: 'pass', ok: false, error: 'disk I/O error' });
    assert.equal(await value('vigia_audit_wal_checkpoint_failures_total'), 3);
    assert.equal(await value('vigia_audit_wal_pending_pages'), 12, 'a failed pass says nothing of the pages');
    record({ kind: 'pass', ok: true, pending: 0 });
    record({ kind: 'pass', ok: true, pending: 0 });
    assert.equal(await value('vigia_audit_wal_pending_pages'), 0);
    assert.deepEqual(lines, [
      'warn a WAL checkpoint failed: the write-ahead log grows until one succeeds (nothing is lost) {"error":"disk I/O error"}',
      'info the WAL checkpoints succeed again',
    ]);
  });
});
