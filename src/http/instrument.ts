import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Metrics } from '../telemetry/metrics.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's `X-Request-Id` when well-formed, else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Records one finished request by route pattern (never the raw path, so label values
 * stay bounded), method and status.
 */
export function recordRequest(metrics: Metrics, route: string, method: string, status: number, receivedAt: bigint): void {
  const seconds = Number(process.hrtime.bigint() - receivedAt) / 1e9;
  metrics.httpRequestDuration.observe({ route, method, status: String(status) }, seconds);
  metrics.httpRequests.inc({ route, status_class: `${Math.floor(status / 100)}xx` });
  metrics.otel.recordRequest(route, method, status, seconds);
}

/** Express middleware: request id and timing for the routes Express serves. */
export function instrumentRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const receivedAt = process.hrtime.bigint();
    res.setHeader('X-Request-Id', requestIdOf(req.headers));
    res.on('finish', () => {
      recordRequest(metrics, (req.route as { path?: string } | undefined)?.path ?? 'unmatched', req.method, res.statusCode, receivedAt);
    });
    next();
  };
}
