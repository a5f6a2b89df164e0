// The audit-log writer thread: commits groups of prediction rows to SQLite so that the
// INSERTs and the fsync of each COMMIT never block the event loop that serves /predict.
// Groups that queue up while a commit is running are drained into the next transaction.
// Each transaction extends the hash chain by one link, computed here, inside the commit.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { GENESIS_HASH, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import type Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import { pairStep } from './cloudevent-pairing.js';
import type { AuditRow, EventHalf, ExpiryOutcome, HalfOutcome, LabelOutcome, LabelRow, ObservationOutcome, WriterReply, WriterRequest } from './audit-writer-protocol.js';

const port = parentPort!;
const { path, synchronous, autocheckpointPages } = workerData as { path: string; synchronous: 'FULL' | 'NORMAL'; autocheckpointPages: number };
const db = openDatabase({ path, synchronous });
// The checkpointer thread copies the log into the database file; this limit is only its backstop.
db.pragma(`wal_autocheckpoint = ${autocheckpointPages}`);
const insert = db.prepare(
  `INSERT INTO predictions (seq, id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, groups, monitoring, bundle_hash, source, reasons, shadow_of, row_hash)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const lastSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM predictions').pluck();
const insertLink = db.prepare('INSERT INTO audit_chain (first_seq, last_seq, rows, prev_hash, hash, committed_ms) VALUES (?, ?, ?, ?, ?, ?)');
/** The last link's hash: where the next link chains from. Only this thread writes links. */
let head = (db.prepare('SELECT hash FROM audit_chain ORDER BY link DESC LIMIT 1').pluck().get() as string | undefined) ?? GENESIS_HASH;

/** The rows chained so far in the open transaction: the link that will cover them. */
let open: { first: number; next: number; hashes: Buffer[] } | undefined;

/**
 * Numbers the row with the next seq and inserts it with its hash. This thread is the only
 * writer, so numbering here lets each row's hash, which covers its seq, go in with its INSERT.
 * False when the statement inserted nothing (an observation already logged).
 */
function chainRow(r: AuditRow, statement: Database.Statement): boolean {
  if (open === undefined) {
    const first = (lastSeq.get() as number) + 1;
    open = { first, next: first, hashes: [] };
  }
  const row: ChainedRow = [open.next, ...r];
  const h = rowHash(row);
  if (statement.run(...row, h).changes === 0) return false;
  open.hashes.push(h);
  open.next++;
  return true;
}

/**
 * Wraps work that chains rows into one BEGIN IMMEDIATE transaction that ends with their link.
 * BEGIN IMMEDIATE: the transaction reads (max seq) before it writes, and a deferred one would
 * then fail at once with SQLITE_BUSY, without waiting, whenever the retention thread committed
 * in between; IMMEDIATE takes the write lock first, under busy_timeout. The new head is
 * adopted only once the transaction committed.
 */
function chained<A extends unknown[], R>(work: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction((...args: A): [R, string] => {
    const result = work(...args);
    const links = open;
    open = undefined;
    if (links === undefined || links.hashes.length === 0) return [result, head];
    const hash = linkHash(head, links.hashes);
    insertLink.run(links.first, links.next - 1, links.hashes.length, head, hash, Date.now());
    return [result, hash];
  });
  return (...args: A): R => {
    try {
      const [result, next] = tx.immediate(...args);
      head = next;
      return result;
    } finally {
      open = undefined;
    }
  };
}

/** Inserts the rows and their link in one transaction. */
const commit = chained((rows: readonly AuditRow[]): void => {
  for (const r of rows) chainRow(r, insert);
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

const probe = db.prepare('INSERT OR REPLACE INTO audit_probe (id, at_ms) VALUES (1, ?)');
// Observations (predictions made elsewhere) are idempotent by their id: a retry finds the
// row of the first try and answers its values, counted as a duplicate.
const insertIfNew = db.prepare(
  `INSERT INTO predictions (seq, id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, groups, monitoring, bundle_hash, source, reasons, shadow_of, row_hash)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
);
const loggedAs = db.prepare('SELECT model, probability, decision, band FROM predictions WHERE id = ?').raw();
function observeOne(r: AuditRow): ObservationOutcome {
  if (chainRow(r, insertIfNew)) return { status: 'created', probability: r[6], decision: r[7], band: r[8] };
  const [model, probability, decision, band] = loggedAs.get(r[0]) as [string, number, number, string];
  return { status: model === r[3] ? 'duplicate' : 'conflict', probability, decision, band };
}
const observeAll = chained((batches: readonly (readonly AuditRow[])[]) => batches.map((rows) => rows.map(observeOne)));

const eventOf = db.prepare('SELECT request, response, first_ms, paired_ms FROM cloudevents WHERE model = ? AND ce_id = ?').raw();
const insertEvent = db.prepare('INSERT INTO cloudevents (model, ce_id, request, response, first_ms) VALUES (?, ?, ?, ?, ?)');
const pairEvent = db.prepare('UPDATE cloudevents SET request = NULL, response = NULL, paired_ms = ? WHERE model = ? AND ce_id = ?');
const mismatchEvent = db.prepare('UPDATE cloudevents SET request = coalesce(request, ?), response = coalesce(response, ?), paired_ms = ?, problem = ? WHERE model = ? AND ce_id = ?');
/** Commits one half; with its partner already there, logs the pair's rows and keeps only the times. */
function recordHalf(h: EventHalf): HalfOutcome {
  const row = eventOf.get(h.model, h.ceId) as [string | null, string | null, number, number | null] | undefined;
  if (row === undefined) {
    insertEvent.run(h.model, h.ceId, h.half === 'request' ? h.payload : null, h.half === 'response' ? h.payload : null, h.receivedMs);
    return { status: 'waiting' };
  }
  const [request, response, firstMs, pairedMs] = row;
  const step = pairStep(h, { request, response, firstMs, pairedMs });
  if (step.kind === 'duplicate') return { status: 'duplicate' };
  if (step.kind === 'mismatch') {
    mismatchEvent.run(h.half === 'request' ? h.payload : null, h.half === 'response' ? h.payload : null, h.receivedMs, step.problem, h.model, h.ceId);
    return { status: 'mismatch', problem: step.problem };
  }
  let rows = 0;
  for (const r of step.rows) if (chainRow(r, insertIfNew)) rows++;
  pairEvent.run(h.receivedMs, h.model, h.ceId);
  return { status: 'paired', rows, duplicateRows: step.rows.length - rows };
}
const recordHalves = chained((halves: readonly EventHalf[]) => halves.map(recordHalf));

const expireWaiting = db.prepare('UPDATE cloudevents SET expired_ms = ? WHERE paired_ms IS NULL AND expired_ms IS NULL AND first_ms < ?');
const countWaiting = db.prepare('SELECT count(*) FROM cloudevents WHERE paired_ms IS NULL AND expired_ms IS NULL').pluck();
function expire(beforeMs: number, nowMs: number): ExpiryOutcome {
  const expired = expireWaiting.run(nowMs, beforeMs).changes;
  return { expired, waiting: countWaiting.get() as number };
}

type Asked<K extends WriterRequest['kind']> = Extract<WriterRequest, { kind: K }>;

/** Runs one transaction for every request of a kind drained together, answering each by id. */
function answerAll<R>(requests: readonly { id: number }[], run: () => readonly R[]): void {
  if (requests.length === 0) return;
  try {
    const results = run();
    requests.forEach((r, i) => port.postMessage({ kind: 'answer', id: r.id, result: results[i] as never } satisfies WriterReply));
  } catch (err) {
    for (const r of requests) port.postMessage({ kind: 'refused', id: r.id, error: (err as Error).message } satisfies WriterReply);
  }
}

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
  const observes = groups.filter((g): g is Asked<'observe'> => g.kind === 'observe');
  answerAll(observes, () => observeAll(observes.map((o) => o.rows)));
  const halves = groups.filter((g): g is Asked<'half'> => g.kind === 'half');
  answerAll(halves, () => recordHalves(halves.map((h) => h.half)));
  for (const g of groups) {
    if (g.kind === 'expire') answerAll([g], () => [expire(g.beforeMs, g.nowMs)]);
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
