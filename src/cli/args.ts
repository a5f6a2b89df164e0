import { InvalidArgumentError, Option } from 'commander';
import { CLIENT_CONFIG_KEYS, loadClientConfig, parseDurationMs, type KeySpec } from '../config.js';
import { ConfigError } from '../errors.js';

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

/**
 * A commander parser that checks a flag's value as `loadConfig` checks the same key, so a
 * bad value is reported against the flag the user typed, not the environment variable.
 */
export function configArg<T>(spec: KeySpec<T>): (value: string) => T {
  return (value: string): T => {
    try {
      return spec.parse(value, spec.flag);
    } catch (err) {
      if (err instanceof ConfigError) throw new InvalidArgumentError(`expected ${err.expected}.`);
      throw err;
    }
  };
}

/** A duration flag whose help shows its default as a duration (`default: 7d`), parsed to ms. */
export function durationOption(flags: string, description: string, minMs: number, fallback?: string): Option {
  const option = new Option(flags, description).argParser(durationArg(minMs));
  return fallback === undefined ? option : option.default(parseDurationMs(fallback), fallback);
}

/** `--url`, the running service of the client commands: the flag, else VIGIA_URL, else the default. */
export function urlOption(): Option {
  const spec = CLIENT_CONFIG_KEYS.url;
  return new Option(`${spec.flag} <url>`, `the running service (default: $${spec.key}, else ${spec.fallback})`).argParser(configArg(spec));
}

/**
 * The service URL a client command talks to: its `--url`, else the environment's. A
 * malformed VIGIA_URL is written to stderr, naming it, and gives undefined (exit 2).
 */
export function serviceUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  try {
    return flag ?? loadClientConfig(env).url;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return undefined;
  }
}

/** An error as one line: node:fs errors name the path. */
export function errorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    return `cannot read ${e.path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EISDIR' ? 'is a directory' : e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
