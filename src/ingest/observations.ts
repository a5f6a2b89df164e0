import { InputError, quote } from '../errors.js';
import { readEventTime } from '../predict/event-time.js';
import type { LoadedModel } from '../model/bundle.js';
import { decide } from '../model/decision.js';
import { newPredictionId } from '../predict/prediction-id.js';
import type { AuditRecord } from '../store/audit-log.js';
import { groupsOf } from '../fairness/groups.js';

/** One prediction made elsewhere, as the ingest API takes it. */
export interface Observation {
  readonly features: Record<string, unknown>;
  readonly probability: number;
  readonly predictionId: string | undefined;
  readonly decision: 0 | 1 | undefined;
  readonly eventTimeMs: number | undefined;
}

const KEYS = new Set(['features', 'probability', 'prediction_id', 'decision', 'event_time']);
/** The caller's id is the audit log's primary key and the key labels join on. */
const MAX_ID_LENGTH = 128;
/** An event time as /predict reads it (always accepted here: the prediction was made before it reached Vigia), named `field` in errors. */
function readTime(raw: unknown, field: string, nowMs: number, maxAgeMs: number): number {
  try {
    return readEventTime(raw, { accept: true, maxAgeMs, now: () => nowMs });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(err.reason, field, err.message.replace(/^event_time/, field));
  }
}

/**
 * Validates `{"observations": [{features, probability, prediction_id?, decision?, event_time?}, ...]}`
 * against the model: the features as /predict validates them, the probability a number from 0
 * to 1. The first bad field rejects the request, naming it with its index
 * (`observations[3].probability`) and its value; nothing is logged then.
 */
export function readObservationsBody(body: unknown, model: LoadedModel, opts: { maxBatch: number; nowMs: number; maxEventAgeMs: number }): Observation[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('invalid_body', undefined, `the body must be {"observations": [{"features": {...}, "probability": p}, ...]}, got ${quote(body)}`);
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'observations') throw new InputError('invalid_body', key, `unknown field ${JSON.stringify(key)} in the body; expected "observations"`);
  }
  const items = b['observations'];
  if (!Array.isArray(items)) throw new InputError('invalid_body', 'observations', `"observations" must be an array of observations, got ${quote(items)}`);
  if (items.length === 0) throw new InputError('empty_batch', 'observations', '"observations" is empty; send at least one');
  if (items.length > opts.maxBatch) {
    throw new InputError('batch_too_large', 'observations', `"observations" holds ${items.length} rows, more than the limit of ${opts.maxBatch} (VIGIA_MAX_BATCH)`);
  }
  const scratch = new Float32Array(model.encoder.width);
  return items.map((item, i): Observation => {
    const at = `observations[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new InputError('invalid_observation', at, `${at} must be an object, got ${quote(item)}`);
    const o = item as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!KEYS.has(key)) throw new InputError('invalid_observation', `${at}.${key}`, `${at}.${key} is not a field of an observation (value ${quote(o[key])}); expected ${[...KEYS].join(', ')}`);
    }
    if (!Object.hasOwn(o, 'features')) throw new InputError('invalid_observation', `${at}.features`, `${at}.features is missing`);
    model.encoder.encode(o['features'], scratch, 0, `${at}.features`);
    const p = o['probability'];
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
      throw new InputError('invalid_observation', `${at}.probability`, `${at}.probability must be a number from 0 to 1 (the model's score), got ${quote(p)}`);
    }
    const id = o['prediction_id'];
    if (id !== undefined && (typeof id !== 'string' || id.trim() === '' || id.length > MAX_ID_LENGTH)) {
      throw new InputError('invalid_observation', `${at}.prediction_id`, `${at}.prediction_id must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${quote(id)}`);
    }
    const d = o['decision'];
    if (d !== undefined && d !== 0 && d !== 1) throw new InputError('invalid_observation', `${at}.decision`, `${at}.decision must be 0 or 1, got ${quote(d)}`);
    const t = o['event_time'];
    return {
      features: o['features'] as Record<string, unknown>,
      probability: p,
      predictionId: id as string | undefined,
      decision: d as 0 | 1 | undefined,
      eventTimeMs: t === undefined ? undefined : readTime(t, `${at}.event_time`, opts.nowMs, opts.maxEventAgeMs),
    };
  });
}

/** The audit rows of validated observations: the decision, when not given, and the band by the bundle's threshold and bands. */
export function observationRecords(model: LoadedModel, observations: readonly Observation[], ctx: { requestId: string; nowMs: number }): AuditRecord[] {
  const { manifest } = model;
  return observations.map((o) => {
    const { decision, band } = decide(manifest, o.probability);
    return {
      id: o.predictionId ?? newPredictionId(ctx.nowMs),
      requestId: ctx.requestId,
      tsMs: ctx.nowMs,
      eventTsMs: o.eventTimeMs ?? ctx.nowMs,
      model: manifest.name,
      modelVersion: manifest.version,
      features: o.features,
      probability: o.probability,
      decision: o.decision ?? decision,
      band: band.name,
      threshold: manifest.threshold,
      // Vigia did not serve it: no latency of its own to record.
      latencyMs: 0,
      traceId: '',
      source: 'observed',
      bundleHash: model.contentHash,
      // Fairness groups of the model inputs; attributes sent for monitoring only are not taken here yet.
      ...(manifest.fairness === undefined ? {} : { groups: groupsOf(manifest.fairness, o.features, undefined) }),
    };
  });
}
