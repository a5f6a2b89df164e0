import express, { type Router } from 'express';
import { InputError } from '../errors.js';
import { readInferenceEvent, requestInstances, responseScores } from '../ingest/kserve.js';
import type { PairPolicy } from '../store/audit-log.js';
import { commitError, modelOf, rejectionOf, type IngestRoutesDeps } from './observations.js';
import { readJsonBody } from './predict.js';

/**
 * `POST /v1/models/{model}/cloudevents`: the sink for KServe's payload logger. Each request
 * or response CloudEvent is validated, mapped to feature objects or scores, and committed
 * (with its half in the `cloudevents` table) before the 200; when both halves of a ce-id
 * are in, in either order, the pair's rows go to the audit log in the same transaction. A
 * half received again answers 200 as a duplicate. KServe sends the halves without retrying,
 * so a refusal (4xx, 503) is logged by its agent and the event is not monitored.
 */
export function cloudEventRoutes(deps: Omit<IngestRoutesDeps, 'maxBatch' | 'maxEventAgeMs'>): Router {
  const { registry, store, admission, metrics } = deps;
  const now = deps.now ?? Date.now;
  const router = express.Router();
  router.post('/v1/models/:model/cloudevents', async (req, res) => {
    const model = modelOf(registry, req, res);
    const { manifest } = model;
    const labels = { model: manifest.name, channel: 'kserve' };
    metrics.ingestReceived.inc(labels);
    let event;
    let payload: unknown[];
    try {
      event = readInferenceEvent(req.headers);
      const body = await readJsonBody(req, deps.bodyLimitBytes);
      if (event.half === 'request') {
        const instances = requestInstances(body, manifest.features);
        const scratch = new Float32Array(model.encoder.width);
        instances.forEach((inst, i) => model.encoder.encode(inst, scratch, 0, `instances[${i}]`));
        payload = instances;
      } else {
        payload = responseScores(body, manifest.serving);
      }
      if (payload.length === 0) throw new InputError('invalid_cloudevent', undefined, `the ${event.half} holds no rows`);
    } catch (err) {
      metrics.ingestRejected.inc({ ...labels, reason: 'invalid' });
      throw err;
    }
    const policy: PairPolicy = { version: manifest.version, threshold: manifest.threshold, bands: manifest.bands.map((b) => [b.name, b.minProbability] as const), bundleHash: model.contentHash };
    const half = { model: manifest.name, ceId: event.id, half: event.half, payload: JSON.stringify(payload), receivedMs: now(), policy };
    let outcome;
    try {
      outcome = await admission.run(payload.length, () => store.recordHalf(half));
    } catch (err) {
      metrics.ingestRejected.inc({ ...labels, reason: rejectionOf(err) });
      throw commitError(err);
    }
    switch (outcome.status) {
      case 'duplicate':
        metrics.ingestDuplicates.inc(labels);
        break;
      case 'paired':
        metrics.ingestCommitted.inc(labels, outcome.rows);
        if (outcome.duplicateRows > 0) metrics.ingestDuplicates.inc(labels, outcome.duplicateRows);
        break;
      case 'mismatch':
        metrics.ingestRejected.inc({ ...labels, reason: 'mismatch' });
        break;
      case 'waiting':
        break;
    }
    res.json({ id: event.id, type: event.half, ...outcome });
  });
  return router;
}
