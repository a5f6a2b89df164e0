import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, InputError, quote } from '../errors.js';
import type { ModelRegistry, Pick } from '../model/registry.js';
import type { PredictionService } from '../predict/service.js';
import type { ShadowScorer } from '../predict/shadow.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { contextFromHeaders } from '../telemetry/tracing.js';
import type { AuthCheck } from './auth.js';
import { errorResponse } from './errors.js';
import { recordRequest, requestIdOf } from './instrument.js';
import { readEventTime, type EventTimePolicy } from '../predict/event-time.js';

export { readEventTime, type EventTimePolicy };

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
  /** The bearer-token check of VIGIA_PREDICT_TOKEN, when set. */
  readonly auth?: AuthCheck;
}

/** The header naming the caller (a customer or account id) that keeps it on one side of a canary. */
export const CALLER_ID_HEADER = 'x-caller-id';

/** The instances of a predict body: `{ features: {...} }` or `{ instances: [{...}, ...] }`. */
export function readPredictBody(body: unknown, maxBatch: number, eventTime?: EventTimePolicy): { instances: unknown[]; shape: 'features' | 'instances'; eventTimeMs?: number; explain?: boolean; monitoring?: unknown[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('invalid_body', undefined, `the body must be a JSON object with "features" or "instances", got ${quote(body)}`);
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'features' && key !== 'instances' && key !== 'event_time' && key !== 'explain' && key !== 'monitoring') {
      throw new InputError('invalid_body', key, `unknown field ${JSON.stringify(key)} in the body; expected "features" (one prediction) or "instances" (a batch), and optionally "event_time", "explain" and "monitoring"`);
    }
  }
  const hasFeatures = Object.hasOwn(b, 'features');
  const hasInstances = Object.hasOwn(b, 'instances');
  if (hasFeatures && hasInstances) {
    throw new InputError('invalid_body', 'instances', 'give either "features" (one prediction) or "instances" (a batch), not both');
  }
  const explain = b['explain'];
  if (explain !== undefined && typeof explain !== 'boolean') throw new InputError('invalid_body', 'explain', `"explain" must be true or false, got ${quote(explain)}`);
  const event = {
    ...(Object.hasOwn(b, 'event_time') ? { eventTimeMs: readEventTime(b['event_time'], eventTime) } : {}),
    ...(explain === true ? { explain } : {}),
  };
  const hasMonitoring = Object.hasOwn(b, 'monitoring');
  if (hasFeatures) return { instances: [b['features']], shape: 'features', ...event, ...(hasMonitoring ? { monitoring: [b['monitoring']] } : {}) };
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
  if (!hasMonitoring) return { instances, shape: 'instances', ...event };
  const monitoring = b['monitoring'];
  if (!Array.isArray(monitoring) || monitoring.length !== instances.length) {
    throw new InputError('invalid_body', 'monitoring', `"monitoring" of a batch must be an array with one object per instance (${instances.length}), got ${quote(monitoring)}`);
  }
  return { instances, shape: 'instances', ...event, monitoring };
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

/**
 * JSON text is UTF-8 (RFC 8259): a body that is not is refused rather than silently decoded
 * with U+FFFD in place of its bad bytes (an id or a feature name the client never sent).
 */
export function checkUtf8(bytes: Uint8Array): void {
  if (!isUtf8(bytes)) throw new InputError('malformed_json', undefined, 'the body is not valid UTF-8');
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
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      try {
        checkUtf8(bytes);
        resolve(JSON.parse(bytes.toString('utf8')));
      } catch (err) {
        if (err instanceof InputError) return reject(err);
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

/** Reads and drops the rest of a request body; false when it runs past `limit` bytes or breaks off. */
function drained(req: IncomingMessage, limit: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (ok: boolean) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(req.complete);
    req.on('data', onData).on('end', onEnd).on('close', onClose);
    req.resume();
  });
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

  const send = (res: ServerResponse, status: number, body: unknown, headers?: Readonly<Record<string, string>>) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
    res.end(text);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, route: string, named: string | undefined, receivedAt: bigint, requestId: string) => {
    let modelLabel = '';
    let status = 200;
    let pick: Pick | undefined;
    let shadowHandedOver = false;
    try {
      deps.auth?.(req.headers);
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
      const { instances, shape, eventTimeMs, explain, monitoring } = readPredictBody(await readJsonBody(req, deps.bodyLimitBytes), deps.maxBatch, deps.eventTime);
      const predictions = await service.predict({
        model: pick.model, instances, shape, requestId, receivedAt, parent: contextFromHeaders(req.headers),
        ...(eventTimeMs === undefined ? {} : { eventTimeMs }), ...(explain === true ? { explain } : {}), ...(monitoring === undefined ? {} : { monitoring }),
      });
      send(res, 200, shape === 'features' ? predictions[0] : { predictions });
      if (pick.shadow !== undefined && deps.shadow !== undefined) {
        // After res.end: the shadow scores on a later turn of the event loop, never before the answer.
        deps.shadow.schedule({
          shadow: pick.shadow, instances, answered: predictions, requestId, traceId: predictions[0]!.trace_id,
          ...(eventTimeMs === undefined ? {} : { eventTimeMs }), ...(monitoring === undefined ? {} : { monitoring }),
        });
        shadowHandedOver = true;
      }
    } catch (err) {
      const answer = errorResponse(err, logger, `${req.method} ${route}`);
      status = answer.status;
      if (answer.rejected !== undefined) metrics.rejectedInputs.inc({ model: modelLabel, reason: answer.rejected });
      // An answer sent while the client still writes its body, on a socket then closed, reaches
      // the client as a reset instead of the answer: read (and drop) a body up to the limit first.
      if (!req.complete && (status === 413 || !(await drained(req, deps.bodyLimitBytes)))) res.setHeader('connection', 'close');
      send(res, status, answer.body, answer.headers);
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
