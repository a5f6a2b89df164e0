import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../errors.js';

/** Checks a request's headers; throws the 401 or 403 `HttpError` the error handler answers. */
export type AuthCheck = (headers: IncomingHttpHeaders) => void;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * A bearer-token check for one group of routes: `Authorization: Bearer <token>` must carry
 * `token`. A missing or malformed header is 401, a wrong token 403. The tokens are compared
 * as SHA-256 digests with `timingSafeEqual`, so the comparison takes the same time whatever
 * the token sent (and whatever its length). `setting` names the configuration key in the
 * messages; the token itself is never in a message, a log line or a metric.
 */
export function bearerAuth(token: string, setting: string): AuthCheck {
  const expected = digest(token);
  return (headers) => {
    const header = headers.authorization;
    const m = header === undefined ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (m === null) {
      throw new HttpError(401, 'unauthorized', `this route needs "Authorization: Bearer <token>" with the token set in ${setting}`, 'authorization');
    }
    if (!timingSafeEqual(digest(m[1]!), expected)) {
      throw new HttpError(403, 'forbidden', `the bearer token is not the one set in ${setting}`, 'authorization');
    }
  };
}

/** The optional tokens of the service, by the routes they guard. */
export interface AuthTokens {
  readonly predict?: string | undefined;
  readonly labels?: string | undefined;
  /** The admin API's (VIGIA_ADMIN_TOKEN); unlike the others, none configured closes those routes. */
  readonly admin?: string | undefined;
}

/**
 * A bearer-token check for routes that are closed unless a token is configured (the admin
 * API): with `token` undefined every request is refused 403, with or without a header;
 * otherwise the same check as `bearerAuth`. `what` names the routes in the message.
 */
export function requiredBearerAuth(token: string | undefined, setting: string, what: string): AuthCheck {
  if (token === undefined) {
    return () => {
      throw new HttpError(403, 'forbidden', `${what} is disabled: no token is configured (set ${setting})`, 'authorization');
    };
  }
  return bearerAuth(token, setting);
}
