// The retention thread: archives then removes the audit-log rows past retention, so neither
// the hashing, the gzip nor the file writes run on the event loop. On SQLite it works in small
// steps on its own connection, and each DELETE transaction holds the write lock only briefly
// (the audit-log writer waits at most one step: busy_timeout covers it). On PostgreSQL it
// archives and drops whole monthly partitions (pg-retention.ts) on a connection of its own,
// which also holds the retention lock that keeps the fleet's replicas from purging together.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { pgRetentionPass } from './pg-retention.js';
import { connectionConfig } from './postgres.js';
import { pruneStep } from './retention.js';
import { BUDGET_PASS_ID, type RetentionReply, type RetentionRequest } from './retention-protocol.js';

const port = parentPort!;
const { db: target, archiveDir, maxRows, sizeBudgetBytes, budgetCheckMs, replica } = workerData as {
  db: DatabaseTarget; archiveDir: string; maxRows: number; sizeBudgetBytes: number; budgetCheckMs: number; replica: string;
};
/** Between two steps, the writer gets the lock. */
const PAUSE_MS = 20;
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

type Prune = Extract<RetentionRequest, { kind: 'prune' }>;
type Outcome = { rows: number; files: number };

interface Pass {
  run(req: Prune, done: Outcome): Promise<void>;
  /** Whether the database is over its size budget now (SQLite: three pragmas, cheap enough to ask every few seconds). */
  overBudget?(): boolean;
  close(): Promise<void>;
}

function sqlitePass(db: SqliteDatabase): Pass {
  /** Bytes the database's pages hold (freed pages are reused, so the file stops growing at the budget). */
  const usedBytes = () => ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * (db.pragma('page_size', { simple: true }) as number);
  const overBudget = () => sizeBudgetBytes > 0 && usedBytes() > sizeBudgetBytes;
  const run = async (req: Prune, done: Outcome) => {
    for (;;) {
      // Past retention first; then, while the database is over its size budget, the oldest rows whatever their age.
      const step = pruneStep(db, { cutoffMs: overBudget() ? Number.POSITIVE_INFINITY : req.cutoffMs, archiveDir, maxRows });
      if (step.rows === 0) break;
      done.rows += step.rows;
      done.files++;
      port.postMessage({ kind: 'progress', rows: step.rows } satisfies RetentionReply);
      await pause();
    }
  };
  return {
    run,
    overBudget,
    close: async () => {
      db.close();
    },
  };
}

function postgresPass(url: string): Pass {
  let client: pg.Client | undefined;
  const run = async (req: Prune, done: Outcome) => {
    if (client === undefined) {
      const c = new pg.Client(connectionConfig(url));
      // An error of an idle connection: the next pass connects anew.
      c.on('error', () => {
        if (client === c) client = undefined;
      });
      await c.connect();
      client = c;
    }
    try {
      const pass = await pgRetentionPass(client, {
        cutoffMs: req.cutoffMs, nowMs: req.nowMs, archiveDir, sizeBudgetBytes, replica,
        onArchived: (rows) => port.postMessage({ kind: 'progress', rows } satisfies RetentionReply),
      });
      done.rows += pass.rows;
      done.files += pass.files;
    } catch (err) {
      // The connection may be the problem: start the next pass on a fresh one (which also drops the lock).
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
      throw err;
    }
  };
  return { run, close: async () => client?.end().catch(() => undefined) };
}

const pass = target.engine === 'sqlite' ? sqlitePass(openDatabase({ path: target.path, synchronous: 'FULL' })) : postgresPass(target.url);
/** The passes, one after the other: a scheduled pass asked for during a budget pass waits for it. */
let running: Promise<void> = Promise.resolve();
let busy = false;

async function run(req: Prune): Promise<void> {
  const done = { rows: 0, files: 0 };
  busy = true;
  try {
    await pass.run(req, done);
    port.postMessage({ kind: 'pruned', id: req.id, ...done } satisfies RetentionReply);
  } catch (err) {
    port.postMessage({ kind: 'failed', id: req.id, rows: done.rows, error: (err as Error).message } satisfies RetentionReply);
  } finally {
    busy = false;
  }
}
const enqueue = (req: Prune) => {
  running = running.then(() => run(req));
};

// Between scheduled passes (an hour apart by default), a database over its size budget is
// brought back under it within seconds, not after up to an interval's writes: a pass of its
// own (id 0, no retention cutoff: only the budget) whenever a check finds it over.
const budgetTimer = pass.overBudget === undefined || budgetCheckMs <= 0 ? undefined : setInterval(() => {
  if (!busy && pass.overBudget!()) enqueue({ kind: 'prune', id: BUDGET_PASS_ID, cutoffMs: Number.NEGATIVE_INFINITY, nowMs: Date.now() });
}, budgetCheckMs);

port.on('message', (req: RetentionRequest) => {
  if (req.kind === 'close') {
    clearInterval(budgetTimer);
    void (async () => {
      await running;
      await pass.close();
      port.close();
    })();
    return;
  }
  enqueue(req);
});
port.postMessage({ kind: 'ready' } satisfies RetentionReply);
