import { InvalidArgumentError } from 'commander';
import { parseDurationMs } from '../config.js';

/** A commander parser for an integer flag in [min, max]; commander names the flag and the value. */
export function integerArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** A commander parser for a number flag in [min, max]. */
export function numberArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

/** A commander parser for a duration flag (7d, 12h, 30m, 60s, 500ms; 0), in ms, from `minMs`. */
export function durationArg(minMs: number) {
  return (value: string): number => {
    const ms = parseDurationMs(value);
    if (!Number.isFinite(ms) || ms < minMs) throw new InvalidArgumentError(`expected a duration such as 7d, 12h, 30m, 60s or 500ms${minMs > 0 ? `, at least ${minMs} ms` : ''}.`);
    return ms;
  };
}

/** An error as one line: node:fs errors name the path. */
export function errorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    return `cannot read ${e.path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EISDIR' ? 'is a directory' : e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
