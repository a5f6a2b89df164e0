/**
 * Typed errors. Three regimes (STYLE.md): startup/config errors (`ConfigError`,
 * `BundleError`) stop the process with a message naming the file/key and the value;
 * request errors are `HttpError`s answered by the one error middleware; background
 * work logs and counts its failures.
 */

/** A malformed configuration value: names the key and the value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`config ${key}=${JSON.stringify(value)} is invalid: expected ${expected}`);
  }
}

/** A model bundle that cannot be loaded: names the file, the field and the value. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(field === undefined ? `${file}: ${detail}` : `${file}: field "${field}" ${detail}`);
  }
}

/** A bad or missing command-line flag: names the flag and the value given, if any (the CLI exits 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly flag: string,
    readonly value: string | undefined,
    detail: string,
  ) {
    super(value === undefined ? `${flag}: ${detail}` : `${flag} ${JSON.stringify(value)}: ${detail}`);
  }
}

/** A request error, answered as `{ "error": { "code", "message", "field"? } }`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The service cannot take the request now; the answer carries `Retry-After` (senders retry). */
export class RetryLaterError extends HttpError {
  constructor(
    status: 429 | 503,
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(status, code, message);
  }
}

/** Why an input was rejected; also the `reason` label of `vigia_rejected_inputs_total`. */
export type RejectReason =
  | 'malformed_json'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'invalid_body'
  | 'empty_batch'
  | 'batch_too_large'
  | 'missing_feature'
  | 'unknown_feature'
  | 'wrong_type'
  | 'not_finite'
  | 'null_not_allowed'
  | 'invalid_labels'
  | 'event_time_not_accepted'
  | 'invalid_event_time'
  | 'unknown_attribute'
  | 'missing_attribute'
  | 'invalid_attribute'
  | 'invalid_observation'
  | 'invalid_cloudevent';

/** An input that cannot be scored; answered 400 naming the field and the value. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly reason: RejectReason,
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A value quoted for an error message, cut short so a huge input cannot flood a log. Never
 * throws: a value nested too deeply for JSON.stringify (10,000 `[` is valid JSON) would
 * overflow the stack, and `String()` of a nested array recurses as deeply, so such a value
 * is described instead of shown.
 */
export function quote(value: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = typeof value === 'object' && value !== null ? `(${Array.isArray(value) ? 'an array' : 'an object'} nested too deeply to show)` : undefined;
  }
  s ??= typeof value === 'object' && value !== null ? '(a value that cannot be shown)' : String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
