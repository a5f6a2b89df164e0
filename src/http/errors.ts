import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, InputError, quote, type RejectReason } from '../errors.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

/** body-parser's error types → our status, reason and message. */
function fromBodyParser(err: { type?: string; limit?: number; length?: number; status?: number }): InputError | HttpError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new InputError('malformed_json', undefined, `the body is not valid JSON: ${(err as Error).message}`);
    case 'entity.too.large':
      return new HttpError(413, 'body_too_large', `the body (${err.length ?? '?'} bytes) is over the limit of ${err.limit} bytes (VIGIA_BODY_LIMIT)`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_media_type', (err as Error).message);
    default:
      return undefined;
  }
}

/**
 * The one error handler: typed errors become `{ "error": { code, message, field? } }`;
 * rejected inputs are counted by reason; anything else is a logged 500.
 */
export function errorHandler(metrics: Metrics, logger: Logger): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    const err = fromBodyParser(raw as never) ?? raw;
    let status: number;
    let body: ErrorBody;
    if (err instanceof InputError) {
      status = 400;
      body = { error: { code: err.reason, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } };
    } else if (err instanceof HttpError) {
      status = err.status;
      body = { error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) } };
    } else {
      status = 500;
      body = { error: { code: 'internal', message: 'internal error' } };
      logger.error('unhandled error', { method: req.method, path: req.path, error: (err as Error)?.stack ?? quote(err) });
    }
    if (err instanceof InputError || (err instanceof HttpError && (err.code === 'body_too_large' || err.code === 'unsupported_media_type'))) {
      const reason = err instanceof InputError ? err.reason : (err.code as RejectReason);
      metrics.rejectedInputs.inc({ model: (res.locals['model'] as string | undefined) ?? '', reason });
    }
    if (status >= 500 && err instanceof HttpError) logger.warn('request failed', { code: err.code, message: err.message });
    if (res.headersSent) return;
    res.status(status).json(body);
  };
}

/** Any path no route matched. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};
