import express, { type Router } from 'express';
import { HttpError, InputError, quote } from '../errors.js';
import type { LabelRow, LabelStore } from '../store/audit-log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AuthCheck } from './auth.js';
import { checkUtf8 } from './predict.js';

/** Most labels in one request. */
export const MAX_LABELS = 100_000;
/** The latest time a JavaScript Date can hold (a larger label_time would break every date shown later). */
const MAX_TIME_MS = 8.64e15;
/** Most ids listed back in an answer's `unknown_ids` / `conflicting_ids`. */
const MAX_LISTED = 1000;

/**
 * Validates a labels body: `{"labels": [{"prediction_id", "label": 0|1, "label_time"?}, ...]}`.
 * `label_time` is an ISO 8601 time or epoch milliseconds; it defaults to `nowMs`. Every bad
 * item is reported with its index, and then nothing of the request is stored.
 */
export function readLabelsBody(body: unknown, nowMs: number): LabelRow[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray((body as Record<string, unknown>)['labels'])) {
    throw new InputError('invalid_body', 'labels', `the body must be {"labels": [{"prediction_id": "...", "label": 0 or 1}, ...]}, got ${quote(body)}`);
  }
  const items = (body as { labels: unknown[] }).labels;
  if (items.length === 0) throw new InputError('empty_batch', 'labels', '"labels" is empty; send at least one');
  if (items.length > MAX_LABELS) throw new InputError('batch_too_large', 'labels', `"labels" holds ${items.length} items, more than the limit of ${MAX_LABELS}`);
  const problems: { field: string; message: string }[] = [];
  const rows: LabelRow[] = [];
  items.forEach((item, i) => {
    const at = `labels[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push({ field: at, message: `${at} must be an object, got ${quote(item)}` });
      return;
    }
    const { prediction_id: id, label, label_time: time } = item as Record<string, unknown>;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
      problems.push({ field: `${at}.prediction_id`, message: `${at}.prediction_id must be a prediction id string, got ${quote(id)}` });
      return;
    }
    if (label !== 0 && label !== 1) {
      problems.push({ field: `${at}.label`, message: `${at}.label must be 0 or 1, got ${quote(label)}` });
      return;
    }
    let ts = nowMs;
    if (time !== undefined) {
      ts = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : Number.NaN;
      if (!Number.isFinite(ts) || ts < 0 || ts > MAX_TIME_MS) {
        problems.push({ field: `${at}.label_time`, message: `${at}.label_time must be an ISO 8601 time or epoch milliseconds, got ${quote(time)}` });
        return;
      }
    }
    rows.push([id, label, ts]);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => p.message).join('; ');
    const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
    throw new InputError('invalid_labels', problems[0]!.field, `${problems.length} of ${items.length} labels are invalid, so none was stored: ${shown}${more}`);
  }
  return rows;
}

/** `POST /v1/labels`: late labels, keyed by prediction id; idempotent, conflicts reported. */
export function labelRoutes(deps: { store: LabelStore; metrics: Metrics; bodyLimitBytes: number; now?: () => number; auth?: AuthCheck }): Router {
  const router = express.Router();
  const now = deps.now ?? Date.now;
  const { auth } = deps;
  // The token is checked before the body is read: an unauthenticated client gets no parsing.
  if (auth !== undefined) router.post('/v1/labels', (req, _res, next) => { auth(req.headers); next(); });
  router.post('/v1/labels', express.json({ limit: deps.bodyLimitBytes, strict: false, inflate: false, verify: (_req, _res, bytes) => checkUtf8(bytes) }), async (req, res) => {
    if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${quote(req.headers['content-type'] ?? 'none')}`);
    const receivedMs = now();
    const rows = readLabelsBody(req.body, receivedMs);
    let outcome;
    try {
      outcome = await deps.store.recordLabels(rows, receivedMs);
    } catch (err) {
      throw new HttpError(503, 'label_store_unavailable', `the labels could not be stored: ${(err as Error).message}`);
    }
    const m = deps.metrics.labels;
    m.inc({ outcome: 'accepted' }, outcome.accepted);
    m.inc({ outcome: 'duplicate' }, outcome.duplicate);
    m.inc({ outcome: 'conflicting' }, outcome.conflicting.length);
    m.inc({ outcome: 'unknown' }, outcome.unknown.length);
    for (const [key, seconds] of Object.entries(outcome.delays)) {
      const at = key.lastIndexOf('@');
      const labels = { model: key.slice(0, at), version: key.slice(at + 1) };
      for (const s of seconds) deps.metrics.labelDelay.observe(labels, s);
    }
    res.json({
      received: rows.length,
      accepted: outcome.accepted,
      duplicate: outcome.duplicate,
      conflicting: outcome.conflicting.length,
      unknown: outcome.unknown.length,
      conflicting_ids: outcome.conflicting.slice(0, MAX_LISTED),
      unknown_ids: outcome.unknown.slice(0, MAX_LISTED),
      ...(outcome.conflicting.length > MAX_LISTED || outcome.unknown.length > MAX_LISTED ? { lists_truncated_at: MAX_LISTED } : {}),
    });
  });
  return router;
}
