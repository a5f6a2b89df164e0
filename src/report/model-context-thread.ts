import { startWorker } from '../worker-thread.js';
import type { ModelContextOptions, ModelContextWithBusiness } from './model-context.js';

/**
 * `buildModelContext` of the bundle in `dir`, run on a worker thread (model-context-worker):
 * resolves with the context, rejects with the bundle error that stopped it.
 */
export function buildModelContextOffThread(dir: string, options: ModelContextOptions): Promise<ModelContextWithBusiness> {
  const worker = startWorker(import.meta.url, 'model-context-worker', { dir, options });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: { ok: true; context: ModelContextWithBusiness } | { ok: false; error: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.context);
      else reject(new Error(msg.error));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the baseline worker exited (${code}) before it answered`));
    });
  });
}
