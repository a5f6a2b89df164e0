import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, InputError, RetryLaterError, quote, type RejectReason } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  /** Set when the request was rejected before scoring (counted by reason). */
  readonly rejected: RejectReason | undefined;
  /** Headers the answer needs (the `WWW-Authenticate` challenge of a 401). */
  readonly headers?: Readonly<Record<string, string>>;
}

const REJECTING_HTTP_CODES: ReadonlySet<string> = new Set(['body_too_large', 'unsupported_media_type']);

/**
 * The errors Express's body parser and router raise for bad client input, as the typed errors
 * this service answers: an unknown error would otherwise be a 500 (`{"labels": [` was one).
 */
function clientErrorOf(err: unknown): InputError | HttpError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  switch (e.type) {
    case 'entity.parse.failed':
      return new InputError('malformed_json', undefined, `the body is not valid JSON: ${message}`);
    case 'entity.too.large':
      return new HttpError(413, 'body_too_large', `the body is over the limit: ${message}`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError(415, 'unsupported_media_type', `${message}; send uncompressed utf-8 JSON`);
    case 'request.aborted':
    case 'request.size.invalid':
      return new HttpError(400, 'request_aborted', `the request body could not be read: ${message}`);
    default:
      break;
  }
  // The router's "Failed to decode param '%ff'" (a path segment that is not valid percent-encoding).
  if (err instanceof URIError && e.status === 400) return new HttpError(400, 'invalid_path', `${message}: the path is not valid percent-encoded UTF-8`);
  return undefined;
}

/** Any error → its status and `{ "error": { code, message, field? } }`; unknown errors are a logged 500. */
export function errorResponse(thrown: unknown, logger: Logger, where: string): ErrorResponse {
  const err = clientErrorOf(thrown) ?? thrown;
  if (err instanceof InputError) {
    return { status: 400, body: { error: { code: err.reason, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } }, rejected: err.reason };
  }
  if (err instanceof HttpError) {
    if (err.status >= 500) logger.warn('request failed', { where, code: err.code, message: err.message });
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } },
      rejected: REJECTING_HTTP_CODES.has(err.code) ? (err.code as RejectReason) : undefined,
      ...(err.status === 401 ? { headers: { 'WWW-Authenticate': 'Bearer realm="vigia"' } } : {}),
    };
  }
  logger.error('unhandled error', { where, error: (err as Error)?.stack ?? quote(err) });
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } }, rejected: undefined };
}

/** The Express error handler, for the routes Express serves. */
export function errorHandler(metrics: Metrics, logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body, rejected, headers } = errorResponse(err, logger, `${req.method} ${req.path}`);
    if (rejected !== undefined) metrics.rejectedInputs.inc({ model: (res.locals['model'] as string | undefined) ?? '', reason: rejected });
    if (res.headersSent) return;
    if (err instanceof RetryLaterError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
    if (headers !== undefined) res.set(headers);
    res.status(status).json(body);
  };
}

/** Any path no route matched. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};
