// The WAL checkpointer thread: copies committed pages from SQLite's write-ahead log into the
// database file on a connection of its own, so that the audit-log writer does not. SQLite's
// automatic checkpoint runs inside the COMMIT that grows the log past `wal_autocheckpoint`,
// and every /predict waiting for that commit waits for the copy and its fsync too (the
// hand-off's p99, docs/benchmarks.md). A PASSIVE checkpoint takes no lock a writer or a
// reader waits for: it copies what no reader still needs and leaves the rest for next time.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointReply, CheckpointRequest } from './wal-checkpoint-protocol.js';

const port = parentPort!;
const { path, synchronous, intervalMs } = workerData as { path: string; synchronous: 'FULL' | 'NORMAL'; intervalMs: number };
const db = new Database(path, { fileMustExist: true });
db.pragma(`synchronous = ${synchronous}`);
db.pragma('wal_autocheckpoint = 0');

const timer = setInterval(() => {
  let pass: CheckpointReply;
  try {
    // One row: busy, the log's pages, the pages copied (-1 and -1 when not in WAL mode).
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    pass = { kind: 'pass', ok: true, pending: Math.max(0, (row?.log ?? 0) - (row?.checkpointed ?? 0)) };
  } catch (err) {
    // Nothing is lost: the log keeps the pages, and the writer's own automatic checkpoint,
    // left on at a higher limit, bounds the log if this thread cannot (tries again next time).
    pass = { kind: 'pass', ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(pass);
}, intervalMs);

port.on('message', (m: CheckpointRequest) => {
  if (m.kind !== 'close') return;
  clearInterval(timer);
  db.close();
  port.postMessage({ kind: 'closed' } satisfies CheckpointReply);
  port.close();
});
port.postMessage({ kind: 'ready' } satisfies CheckpointReply);
