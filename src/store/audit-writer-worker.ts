// The audit-log writer thread: commits groups of prediction rows to SQLite so that the
// INSERTs and the fsync of each COMMIT never block the event loop that serves /predict.
// Groups that queue up while a commit is running are drained into the next transaction.
// Each transaction extends the hash chain by one link, computed here, inside the commit.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { GENESIS_HASH, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import { openDatabase } from './database.js';
import type { AuditRow, LabelOutcome, LabelRow, WriterReply, WriterRequest } from './audit-writer-protocol.js';

const port = parentPort!;
const { path, synchronous } = workerData as { path: string; synchronous: 'FULL' | 'NORMAL' };
const db = openDatabase({ path, synchronous });
const insert = db.prepare(
  `INSERT INTO predictions (seq, id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, groups, monitoring, bundle_hash, row_hash)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const lastSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM predictions').pluck();
const insertLink = db.prepare('INSERT INTO audit_chain (first_seq, last_seq, rows, prev_hash, hash, committed_ms) VALUES (?, ?, ?, ?, ?, ?)');
/** The last link's hash: where the next link chains from. Only this thread writes links. */
let head = (db.prepare('SELECT hash FROM audit_chain ORDER BY link DESC LIMIT 1').pluck().get() as string | undefined) ?? GENESIS_HASH;

/** Inserts the rows and their link in one transaction; returns the new head, adopted only once committed. */
const commitRows = db.transaction((rows: readonly AuditRow[]): string => {
  // This thread is the only writer, so the rows take the next seqs; numbering them here lets
  // each row's hash, which covers its seq, go in with its INSERT.
  const first = (lastSeq.get() as number) + 1;
  const hashes: Buffer[] = [];
  let seq = first;
  for (const r of rows) {
    const chained: ChainedRow = [seq, ...r];
    const h = rowHash(chained);
    insert.run(...chained, h);
    hashes.push(h);
    seq++;
  }
  const last = seq - 1;
  const hash = linkHash(head, hashes);
  insertLink.run(first, last, rows.length, head, hash, Date.now());
  return hash;
});
// BEGIN IMMEDIATE: the transaction reads (max seq) before it writes, and a deferred one
// would then fail at once with SQLITE_BUSY, without waiting, whenever the retention thread
// committed in between; IMMEDIATE takes the write lock first, under busy_timeout.
const commit = (rows: readonly AuditRow[]): void => {
  head = commitRows.immediate(rows);
};

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

const probe = db.prepare('INSERT OR REPLACE INTO audit_probe (id, at_ms) VALUES (1, ?)');

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
      port.postMessage({ kind: 'labels', id: g.id, outcome: storeLabels.immediate(g.rows, g.receivedMs) } satisfies WriterReply);
    } catch (err) {
      port.postMessage({ kind: 'labels-failed', id: g.id, error: (err as Error).message } satisfies WriterReply);
    }
  }
  if (groups.some((g) => g.kind === 'probe')) {
    try {
      probe.run(Date.now());
      port.postMessage({ kind: 'probe', ok: true } satisfies WriterReply);
    } catch (err) {
      port.postMessage({ kind: 'probe', ok: false, error: (err as Error).message } satisfies WriterReply);
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
