import express, { type RequestHandler } from 'express';
import { HttpError, InputError } from '../errors.js';

/**
 * Express's JSON body parser for the small admin and protocol bodies (any media type, as
 * protocol clients do not all send one), with its errors turned into the typed errors the
 * one error handler answers: malformed JSON 400, too large 413.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, type: () => true });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return next();
      const e = err as { type?: string; message?: string };
      if (e.type === 'entity.too.large') return next(new HttpError(413, 'body_too_large', `the body is over the limit of ${limitBytes} bytes`));
      return next(new InputError('malformed_json', undefined, `the body is not valid JSON: ${e.message ?? String(err)}`));
    });
  };
}
