import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from '../errors.js';

export interface BearerGuardOptions {
  /** The expected token; undefined when none is configured (every request is then refused). */
  readonly token: string | undefined;
  /** What the token protects and how to configure it, for the messages (e.g. "the admin API", "VIGIA_ADMIN_TOKEN"). */
  readonly what: string;
  readonly setting: string;
  /** Called for each refused request (metrics), with the status answered. */
  readonly onRefused?: (status: 401 | 403) => void;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * True when `given` equals `expected`, in time independent of where they differ: both are
 * hashed to 32 bytes first, so neither the content nor the length of the token leaks.
 */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or of another scheme. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m === null ? undefined : m[1];
}

/**
 * Express middleware requiring `Authorization: Bearer <token>`: 401 when the header is
 * missing (with `WWW-Authenticate`), 403 when the token is wrong or when no token is
 * configured (the protected routes are then closed, never open). Nothing behind it runs.
 */
export function bearerGuard(opts: BearerGuardOptions): RequestHandler {
  return (req, res, next) => {
    const given = bearerTokenOf(req.headers.authorization);
    if (opts.token === undefined) {
      opts.onRefused?.(403);
      next(new HttpError(403, 'forbidden', `${opts.what} is disabled: no token is configured (set ${opts.setting})`));
      return;
    }
    if (given === undefined) {
      opts.onRefused?.(401);
      res.setHeader('WWW-Authenticate', 'Bearer realm="vigia"');
      next(new HttpError(401, 'unauthorized', `${opts.what} needs an "Authorization: Bearer <token>" header (the token of ${opts.setting})`));
      return;
    }
    if (!tokensMatch(given, opts.token)) {
      opts.onRefused?.(403);
      next(new HttpError(403, 'forbidden', `the bearer token is not the token of ${opts.what} (${opts.setting})`));
      return;
    }
    next();
  };
}
