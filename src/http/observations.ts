import express, { type Request, type Router } from 'express';
import { HttpError, quote, RetryLaterError } from '../errors.js';
import type { Admission } from '../ingest/admission.js';
import { observationRecords, readObservationsBody } from '../ingest/observations.js';
import type { LoadedModel } from '../model/bundle.js';
import type { ModelRegistry } from '../model/registry.js';
import type { ObservationStore } from '../store/audit-log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { requestIdOf } from './instrument.js';
import { readJsonBody } from './predict.js';

export interface IngestRoutesDeps {
  readonly registry: ModelRegistry;
  readonly store: ObservationStore;
  readonly admission: Admission;
  readonly metrics: Metrics;
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  /** Oldest accepted `event_time`, ms before now (VIGIA_MAX_EVENT_AGE). */
  readonly maxEventAgeMs: number;
  readonly now?: () => number;
}

/** The model named in the path (404 naming it otherwise), recorded for the rejection metric. */
export function modelOf(registry: ModelRegistry, req: Request, res: express.Response): LoadedModel {
  const raw = req.params['model'];
  const name = typeof raw === 'string' ? raw : '';
  const model = registry.get(name);
  if (model === undefined) throw new HttpError(404, 'unknown_model', `no model named ${quote(name)}; loaded: ${registry.list().map((m) => m.manifest.name).join(', ')}`, 'model');
  res.locals['model'] = name;
  return model;
}

/** What a failed commit becomes: the back-pressure 503 as it is, anything else a 503 saying nothing was accepted. */
export function commitError(err: unknown): HttpError {
  if (err instanceof RetryLaterError) return err;
  return new HttpError(503, 'audit_log_unavailable', `the observations could not be written to the audit log, so none is acknowledged: ${(err as Error).message}`);
}

/** The reason label of a failed commit: the queue was full, or the log failed. */
export const rejectionOf = (err: unknown): 'overloaded' | 'unavailable' => (err instanceof RetryLaterError ? 'overloaded' : 'unavailable');

/**
 * `POST /v1/models/{model}/observations`: predictions made elsewhere, one or a batch.
 * Validated like /predict, committed to the audit log before the 200, idempotent by the
 * caller's `prediction_id` (a retry answers the first try's values as a duplicate).
 */
export function observationRoutes(deps: IngestRoutesDeps): Router {
  const { registry, store, admission, metrics } = deps;
  const now = deps.now ?? Date.now;
  const router = express.Router();
  router.post('/v1/models/:model/observations', async (req, res) => {
    const model = modelOf(registry, req, res);
    const labels = { model: model.manifest.name, channel: 'api' };
    if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${quote(req.headers['content-type'] ?? 'none')}`);
    const body = await readJsonBody(req, deps.bodyLimitBytes);
    const items = (body as { observations?: unknown } | null)?.observations;
    const count = Array.isArray(items) ? items.length : 1;
    metrics.ingestReceived.inc(labels, count);
    const nowMs = now();
    let records;
    try {
      records = observationRecords(model, readObservationsBody(body, model, { maxBatch: deps.maxBatch, nowMs, maxEventAgeMs: deps.maxEventAgeMs }), { requestId: requestIdOf(req.headers), nowMs });
    } catch (err) {
      metrics.ingestRejected.inc({ ...labels, reason: 'invalid' }, count);
      throw err;
    }
    let outcomes;
    try {
      outcomes = await admission.run(records.length, () => store.observe(records));
    } catch (err) {
      metrics.ingestRejected.inc({ ...labels, reason: rejectionOf(err) }, records.length);
      throw commitError(err);
    }
    const tally = { created: 0, duplicate: 0, conflict: 0 };
    for (const o of outcomes) tally[o.status]++;
    metrics.ingestCommitted.inc(labels, tally.created);
    metrics.ingestDuplicates.inc(labels, tally.duplicate);
    if (tally.conflict > 0) metrics.ingestRejected.inc({ ...labels, reason: 'conflict' }, tally.conflict);
    res.json({
      received: records.length,
      committed: tally.created,
      duplicate: tally.duplicate,
      conflict: tally.conflict,
      observations: outcomes.map((o, i) => ({
        prediction_id: records[i]!.id,
        status: o.status,
        ...(o.status === 'conflict' ? { message: 'this prediction_id is already logged for another model; not logged again' } : { probability: o.probability, decision: o.decision, band: o.band }),
      })),
    });
  });
  return router;
}
