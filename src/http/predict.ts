import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, InputError, quote } from '../errors.js';
import type { ModelRegistry, Pick } from '../model/registry.js';
import type { PredictionService } from '../predict/service.js';
import type { ShadowScorer } from '../predict/shadow.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { contextFromHeaders } from '../telemetry/tracing.js';
import { errorResponse } from './errors.js';
import { recordRequest, requestIdOf } from './instrument.js';

export interface PredictRoutesDeps {
  readonly registry: ModelRegistry;
  readonly service: PredictionService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  /** Whether a client-supplied `event_time` is accepted, and how old it may be. */
  readonly eventTime?: EventTimePolicy;
  /** Scores a copy of each request with the model's shadow version, after the answer. */
  readonly shadow?: ShadowScorer;
}

/** The header naming the caller (a customer or account id) that keeps it on one side of a canary. */
export const CALLER_ID_HEADER = 'x-caller-id';

export interface EventTimePolicy {
  readonly accept: boolean;
  /** Oldest accepted event time, ms before now. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

/** How far ahead of the server clock an event time may be (clock skew). */
const MAX_EVENT_LEAD_MS = 5 * 60_000;

/**
 * The `event_time` of a predict body (ISO 8601 or epoch ms), checked against the policy:
 * refused unless the service accepts event times, and bounded to [now − max age, now + 5 min].
 */
export function readEventTime(raw: unknown, policy: EventTimePolicy | undefined): number {
  if (policy === undefined || !policy.accept) {
    throw new InputError('event_time_not_accepted', 'event_time', 'this service does not accept "event_time" (start it with VIGIA_ACCEPT_EVENT_TIME=true to replay or backfill)');
  }
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InputError('invalid_event_time', 'event_time', `event_time must be an ISO 8601 time or epoch milliseconds, got ${quote(raw)}`);
  const now = (policy.now ?? Date.now)();
  if (ms > now + MAX_EVENT_LEAD_MS) throw new InputError('invalid_event_time', 'event_time', `event_time ${quote(raw)} is more than 5 minutes in the future`);
  if (ms < now - policy.maxAgeMs) {
    throw new InputError('invalid_event_time', 'event_time', `event_time ${quote(raw)} is older than ${Math.round(policy.maxAgeMs / 86_400_000)} days (VIGIA_MAX_EVENT_AGE)`);
  }
  return Math.round(ms);
}

/** The instances of a predict body: `{ features: {...} }` or `{ instances: [{...}, ...] }`. */
export function readPredictBody(body: unknown, maxBatch: number, eventTime?: EventTimePolicy): { instances: unknown[]; shape: 'features' | 'instances'; eventTimeMs?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('invalid_body', undefined, `the body must be a JSON object with "features" or "instances", got ${quote(body)}`);
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'features' && key !== 'instances' && key !== 'event_time') {
      throw new InputError('invalid_body', key, `unknown field ${JSON.stringify(key)} in the body; expected "features" (one prediction) or "instances" (a batch), and optionally "event_time"`);
    }
  }
  const hasFeatures = Object.hasOwn(b, 'features');
  const hasInstances = Object.hasOwn(b, 'instances');
  if (hasFeatures && hasInstances) {
    throw new InputError('invalid_body', 'instances', 'give either "features" (one prediction) or "instances" (a batch), not both');
  }
  const event = Object.hasOwn(b, 'event_time') ? { eventTimeMs: readEventTime(b['event_time'], eventTime) } : {};
  if (hasFeatures) return { instances: [b['features']], shape: 'features', ...event };
  if (!hasInstances) {
    throw new InputError('invalid_body', undefined, 'the body must hold "features" (one prediction) or "instances" (a batch)');
  }
  const instances = b['instances'];
  if (!Array.isArray(instances)) {
    throw new InputError('invalid_body', 'instances', `"instances" must be an array of feature objects, got ${quote(instances)}`);
  }
  if (instances.length === 0) throw new InputError('empty_batch', 'instances', '"instances" is empty; send at least one');
  if (instances.length > maxBatch) {
    throw new InputError('batch_too_large', 'instances', `"instances" holds ${instances.length} rows, more than the limit of ${maxBatch} (VIGIA_MAX_BATCH)`);
  }
  return { instances, shape: 'instances', ...event };
}

/** Checks the media type and encoding a predict body must have. */
function checkContentType(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  const m = /^\s*application\/json\s*(?:;\s*charset\s*=\s*"?([\w-]+)"?\s*)?$/i.exec(type ?? '');
  if (m === null) throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${quote(type ?? 'none')}`);
  if (m[1] !== undefined && m[1].toLowerCase() !== 'utf-8') throw new HttpError(415, 'unsupported_media_type', `the charset must be utf-8, got ${quote(m[1])}`);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') throw new HttpError(415, 'unsupported_media_type', `Content-Encoding ${quote(encoding)} is not supported; send the body uncompressed`);
}

/** Reads and parses a JSON body of at most `limit` bytes. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = (length: number | string) => new HttpError(413, 'body_too_large', `the body (${length} bytes) is over the limit of ${limit} bytes (VIGIA_BODY_LIMIT)`);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(declared));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(`more than ${limit}`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      failed = true;
      reject(new HttpError(400, 'request_aborted', `the request body could not be read: ${err.message}`));
    });
    req.on('end', () => {
      if (failed) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new InputError('malformed_json', undefined, `the body is not valid JSON: ${(err as Error).message}`));
      }
    });
  });
}

/** 404 for a model the registry does not know; 503 for one with no ready stable version. */
export function unservedModel(registry: ModelRegistry, name: string): HttpError {
  if (!registry.names().includes(name)) {
    return new HttpError(404, 'unknown_model', `no model named ${quote(name)}; loaded: ${registry.names().join(', ')}`, 'model');
  }
  return new HttpError(503, 'model_not_ready', `model ${quote(name)} has no ready version to answer (see GET /v1/models for its versions and their state)`, 'model');
}

const NAMED_ROUTE = /^\/v1\/models\/([^/?#]+)\/predict$/;

/**
 * `POST /v1/models/{model}/predict` and `POST /predict` (the default model), served on
 * node:http directly, in front of Express: on this 2-core machine Express's router and
 * body parser tripled the p99 latency of the hot path (bench/README). Returns false for
 * any other request, which then goes to Express.
 */
export function predictRoutes(deps: PredictRoutesDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { registry, service, metrics, logger } = deps;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, route: string, named: string | undefined, receivedAt: bigint, requestId: string) => {
    let modelLabel = '';
    let status = 200;
    let pick: Pick | undefined;
    let shadowHandedOver = false;
    try {
      const name = named ?? registry.defaultModel;
      const caller = req.headers[CALLER_ID_HEADER];
      // One map lookup (and a hash when a canary runs); the version is leased until the answer is sent.
      pick = registry.pick(name, typeof caller === 'string' && caller !== '' ? caller : undefined);
      if (pick === undefined) {
        req.resume();
        throw unservedModel(registry, name);
      }
      modelLabel = name;
      checkContentType(req);
      const { instances, shape, eventTimeMs } = readPredictBody(await readJsonBody(req, deps.bodyLimitBytes), deps.maxBatch, deps.eventTime);
      const predictions = await service.predict({ model: pick.model, instances, shape, requestId, receivedAt, parent: contextFromHeaders(req.headers), ...(eventTimeMs === undefined ? {} : { eventTimeMs }) });
      send(res, 200, shape === 'features' ? predictions[0] : { predictions });
      if (pick.shadow !== undefined && deps.shadow !== undefined) {
        // After res.end: the shadow scores on a later turn of the event loop, never before the answer.
        deps.shadow.schedule({ shadow: pick.shadow, instances, answered: predictions, requestId, traceId: predictions[0]!.trace_id, ...(eventTimeMs === undefined ? {} : { eventTimeMs }) });
        shadowHandedOver = true;
      }
    } catch (err) {
      const answer = errorResponse(err, logger, `${req.method} ${route}`);
      status = answer.status;
      if (answer.rejected !== undefined) metrics.rejectedInputs.inc({ model: modelLabel, reason: answer.rejected });
      if (!req.complete) res.setHeader('connection', 'close'); // the unread body cannot be skipped safely
      send(res, status, answer.body);
    } finally {
      if (pick !== undefined) {
        registry.release(pick.served);
        if (pick.shadow !== undefined && !shadowHandedOver) registry.release(pick.shadow);
      }
    }
    recordRequest(metrics, route, 'POST', status, receivedAt);
  };

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: string;
    let named: string | undefined;
    if (path === '/predict') {
      route = '/predict';
    } else {
      const m = NAMED_ROUTE.exec(path);
      if (m === null) return false;
      route = '/v1/models/:model/predict';
      try {
        named = decodeURIComponent(m[1]!);
      } catch {
        named = m[1]!;
      }
    }
    const receivedAt = process.hrtime.bigint();
    const requestId = requestIdOf(req.headers);
    res.setHeader('X-Request-Id', requestId);
    void serve(req, res, route, named, receivedAt, requestId);
    return true;
  };
}
