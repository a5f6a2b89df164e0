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
}

const REJECTING_HTTP_CODES: ReadonlySet<string> = new Set(['body_too_large', 'unsupported_media_type']);

/** Any error → its status and `{ "error": { code, message, field? } }`; unknown errors are a logged 500. */
export function errorResponse(err: unknown, logger: Logger, where: string): ErrorResponse {
  if (err instanceof InputError) {
    return { status: 400, body: { error: { code: err.reason, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } }, rejected: err.reason };
  }
  if (err instanceof HttpError) {
    if (err.status >= 500) logger.warn('request failed', { where, code: err.code, message: err.message });
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } },
      rejected: REJECTING_HTTP_CODES.has(err.code) ? (err.code as RejectReason) : undefined,
    };
  }
  logger.error('unhandled error', { where, error: (err as Error)?.stack ?? quote(err) });
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } }, rejected: undefined };
}

/** The Express error handler, for the routes Express serves. */
export function errorHandler(metrics: Metrics, logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body, rejected } = errorResponse(err, logger, `${req.method} ${req.path}`);
    if (rejected !== undefined) metrics.rejectedInputs.inc({ model: (res.locals['model'] as string | undefined) ?? '', reason: rejected });
    if (res.headersSent) return;
    if (err instanceof RetryLaterError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
    res.status(status).json(body);
  };
}

/** Any path no route matched. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};
