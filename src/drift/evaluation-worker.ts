// The drift evaluation thread: reads a window from the audit log (its own read-only
// SQLite connection) and evaluates it, so that neither the read nor the statistics of a
// large window ever run on the event loop that serves /predict.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { WindowCache } from '../store/window.js';
import { diagnose } from './diagnosis.js';
import type { EvaluationReply, EvaluationRequest, EvaluationWorkerData } from './evaluation-protocol.js';
import { buildReport } from './report.js';

const port = parentPort!;
const data = workerData as EvaluationWorkerData;
const db = new Database(data.dbPath, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');

const caches = new Map<string, WindowCache>();

port.on('message', (req: EvaluationRequest) => {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const ctx = data.models[req.key];
    if (ctx === undefined) throw new Error(`no baseline for ${req.key}`);
    const { baseline } = ctx;
    let cache = caches.get(req.key);
    if (cache === undefined) {
      cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
      caches.set(req.key, cache);
    }
    const window = cache.refresh(req.fromMs);
    const report = buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose);
    port.postMessage({ kind: 'report', id: req.id, report, seconds: seconds() } satisfies EvaluationReply);
  } catch (err) {
    port.postMessage({ kind: 'failed', id: req.id, error: (err as Error).message, seconds: seconds() } satisfies EvaluationReply);
  }
});
port.postMessage({ kind: 'ready' } satisfies EvaluationReply);
