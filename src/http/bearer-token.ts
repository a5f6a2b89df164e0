import type { RequestHandler } from 'express';
import { HttpError } from '../errors.js';
import { requiredBearerAuth } from './auth.js';

export interface BearerGuardOptions {
  /** The expected token; undefined when none is configured (every request is then refused). */
  readonly token: string | undefined;
  /** What the token protects and how to configure it, for the messages (e.g. "the admin API", "VIGIA_ADMIN_TOKEN"). */
  readonly what: string;
  readonly setting: string;
  /** Called for each refused request (metrics), with the status answered. */
  readonly onRefused?: (status: 401 | 403) => void;
}

/**
 * Express middleware in front of a group of routes closed unless a token is configured (the
 * admin API): the check is `requiredBearerAuth` (src/http/auth.ts, the same comparison as the
 * predict and labels tokens), 401 with `WWW-Authenticate` when the header is missing or
 * malformed, 403 when the token is wrong or none is configured. Nothing behind it runs.
 */
export function bearerGuard(opts: BearerGuardOptions): RequestHandler {
  const check = requiredBearerAuth(opts.token, opts.setting, opts.what);
  return (req, res, next) => {
    try {
      check(req.headers);
    } catch (err) {
      const status = err instanceof HttpError && err.status === 401 ? 401 : 403;
      opts.onRefused?.(status);
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="vigia"');
      next(err);
      return;
    }
    next();
  };
}
