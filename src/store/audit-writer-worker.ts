// The audit-log writer thread: commits groups of prediction rows to SQLite so that the
// INSERTs and the fsync of each COMMIT never block the event loop that serves /predict.
// Groups that queue up while a commit is running are drained into the next transaction.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import type { AuditRow, LabelOutcome, LabelRow, WriterReply, WriterRequest } from './audit-writer-protocol.js';

const port = parentPort!;
const { path, synchronous } = workerData as { path: string; synchronous: 'FULL' | 'NORMAL' };
const db = openDatabase({ path, synchronous });
const insert = db.prepare(
  `INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, shadow_of)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const commit = db.transaction((rows: readonly AuditRow[]) => {
  for (const r of rows) insert.run(r);
});

const predictionOf = db.prepare('SELECT model, model_version, event_ts_ms, probability FROM predictions WHERE id = ?').raw();
const existingLabel = db.prepare('SELECT label FROM labels WHERE prediction_id = ?').pluck();
const insertLabel = db.prepare(
  'INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
);
/** Stores new labels; the same label again is a no-op, the other label a reported conflict. */
const storeLabels = db.transaction((rows: readonly LabelRow[], receivedMs: number): LabelOutcome => {
  let accepted = 0;
  let duplicate = 0;
  const conflicting: string[] = [];
  const unknown: string[] = [];
  const delays: Record<string, number[]> = {};
  for (const [id, label, labelTs] of rows) {
    const prediction = predictionOf.get(id) as [string, string, number, number] | undefined;
    if (prediction === undefined) {
      unknown.push(id);
      continue;
    }
    const had = existingLabel.get(id) as number | undefined;
    if (had === undefined) {
      const [model, version, eventTs, probability] = prediction;
      insertLabel.run(id, label, labelTs, receivedMs, model, version, eventTs, probability);
      (delays[`${model}@${version}`] ??= []).push(Math.max(0, labelTs - eventTs) / 1000);
      accepted++;
    } else if (had === label) duplicate++;
    else conflicting.push(id);
  }
  return { accepted, duplicate, conflicting, unknown, delays };
});

function handle(first: WriterRequest): void {
  const groups: WriterRequest[] = [first];
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) groups.push(m.message as WriterRequest);
  const closing = groups.some((g) => g.kind === 'close');
  const writes = groups.filter((g): g is Extract<WriterRequest, { kind: 'write' }> => g.kind === 'write');
  if (writes.length > 0) {
    const started = process.hrtime.bigint();
    const rows = writes.flatMap((g) => g.rows);
    let reply: WriterReply;
    try {
      commit(rows);
      reply = { kind: 'committed', groups: writes.map((g) => g.group), rows: rows.length, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    } catch (err) {
      // One bad group must not sink the others: retry each group alone.
      const ok: number[] = [];
      const failed: { group: number; error: string }[] = [];
      for (const g of writes) {
        try {
          commit(g.rows);
          ok.push(g.group);
        } catch (e) {
          failed.push({ group: g.group, error: (e as Error).message });
        }
      }
      reply = { kind: 'partial', committed: ok, failed, firstError: (err as Error).message, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    }
    port.postMessage(reply);
  }
  for (const g of groups) {
    if (g.kind !== 'labels') continue;
    try {
      port.postMessage({ kind: 'labels', id: g.id, outcome: storeLabels(g.rows, g.receivedMs) } satisfies WriterReply);
    } catch (err) {
      port.postMessage({ kind: 'labels-failed', id: g.id, error: (err as Error).message } satisfies WriterReply);
    }
  }
  if (closing) {
    db.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    port.close();
  }
}

port.on('message', handle);
port.postMessage({ kind: 'ready' } satisfies WriterReply);
