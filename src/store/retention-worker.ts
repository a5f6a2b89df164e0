// The retention thread: archives then removes the audit-log rows past retention, in small
// steps on its own SQLite connection, so neither the gzip nor the file writes run on the
// event loop, and each DELETE transaction holds the write lock only briefly (the audit-log
// writer waits at most one step: busy_timeout covers it).
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import { pruneStep } from './retention.js';
import type { RetentionReply, RetentionRequest } from './retention-protocol.js';

const port = parentPort!;
const { path, archiveDir, maxRows, sizeBudgetBytes } = workerData as { path: string; archiveDir: string; maxRows: number; sizeBudgetBytes: number };
const db = openDatabase({ path, synchronous: 'FULL' });
/** Between two steps, the writer gets the lock. */
const PAUSE_MS = 20;
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));
/** Bytes the database's pages hold (freed pages are reused, so the file stops growing at the budget). */
const usedBytes = () => ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * (db.pragma('page_size', { simple: true }) as number);

async function run(req: Extract<RetentionRequest, { kind: 'prune' }>): Promise<void> {
  let rows = 0;
  let files = 0;
  try {
    for (;;) {
      // Past retention first; then, while the database is over its size budget, the oldest rows whatever their age.
      const overBudget = sizeBudgetBytes > 0 && usedBytes() > sizeBudgetBytes;
      const step = pruneStep(db, { cutoffMs: overBudget ? Number.POSITIVE_INFINITY : req.cutoffMs, archiveDir, maxRows });
      if (step.rows === 0) break;
      rows += step.rows;
      files++;
      port.postMessage({ kind: 'progress', rows: step.rows } satisfies RetentionReply);
      await pause();
    }
    port.postMessage({ kind: 'pruned', id: req.id, rows, files } satisfies RetentionReply);
  } catch (err) {
    port.postMessage({ kind: 'failed', id: req.id, rows, error: (err as Error).message } satisfies RetentionReply);
  }
}

port.on('message', (req: RetentionRequest) => {
  if (req.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  void run(req);
});
port.postMessage({ kind: 'ready' } satisfies RetentionReply);
