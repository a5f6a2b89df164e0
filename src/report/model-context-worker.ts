// Builds one model version's context (frozen baseline, score calibration, thresholds) on a
// worker thread, so a live load never stalls the event loop that serves /predict: reading
// and binning the reference sample took up to a second of synchronous work on the demo
// model (bench/rollout.bench.ts). The worker opens its own session of the bundle to score
// the reference, and releases it before it ends.
import { parentPort, workerData } from 'node:worker_threads';
import { loadBundle } from '../model/bundle.js';
import { buildModelContext, type ModelContextOptions } from './model-context.js';

const { dir, options } = workerData as { dir: string; options: ModelContextOptions };
const model = await loadBundle(dir);
try {
  parentPort!.postMessage({ ok: true, context: await buildModelContext(model, options) });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
} finally {
  await model.scorer?.close();
}
