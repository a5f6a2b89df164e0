import type { RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { Metrics } from '../telemetry/metrics.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Stamps each request with its arrival time and request id (the caller's `X-Request-Id`
 * when well-formed), and on finish records its duration by route pattern (never the raw
 * path, so label values stay bounded), method and status.
 */
export function instrumentRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const receivedAt = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals['receivedAt'] = receivedAt;
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const status = res.statusCode;
      const seconds = Number(process.hrtime.bigint() - receivedAt) / 1e9;
      metrics.httpRequestDuration.observe({ route, method: req.method, status: String(status) }, seconds);
      metrics.httpRequests.inc({ route, status_class: `${Math.floor(status / 100)}xx` });
    });
    next();
  };
}
