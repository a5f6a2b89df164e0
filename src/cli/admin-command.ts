import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { errorMessage, numberArg, serviceUrl, urlOption } from './args.js';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_BAD_INPUT = 2;

interface AdminFlags {
  url?: string;
  tokenFile?: string;
}

/** The admin token: --token-file, else VIGIA_ADMIN_TOKEN / VIGIA_ADMIN_TOKEN_FILE (as the service reads them). */
async function tokenOf(flags: AdminFlags, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (flags.tokenFile !== undefined) return (await readFile(flags.tokenFile, 'utf8')).trim();
  const token = loadConfig(env).adminToken;
  if (token === undefined) throw new UsageError('--token-file', undefined, 'no admin token: give --token-file, or set VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE');
  return token;
}

interface VersionLine {
  readonly model: string;
  readonly version: string;
  readonly state: string;
  readonly role: string;
  readonly reason?: string;
  readonly canary_percent?: number;
}

/** One line per version: model, version, state, role (and the canary share), reason. */
export function formatVersions(versions: readonly VersionLine[]): string {
  return versions
    .map((v) => `${v.model}\t${v.version}\t${v.state}\t${v.role}${v.canary_percent === undefined ? '' : ` ${v.canary_percent}%`}${v.reason === undefined ? '' : `\t${v.reason}`}\n`)
    .join('');
}

/** Calls one admin route and prints the versions it answers with; exit 1 when refused. */
async function call(flags: AdminFlags, method: 'GET' | 'POST', path: string, body: object | undefined, env = process.env): Promise<number> {
  const base = serviceUrl(flags.url, env);
  if (base === undefined) return EXIT_BAD_INPUT;
  try {
    const token = await tokenOf(flags, env);
    const url = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      process.stderr.write(`vigia: cannot reach the service at ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}\n`);
      return EXIT_REFUSED;
    }
    const answer = (await res.json()) as { error?: { message: string }; versions?: VersionLine[] } & Partial<VersionLine>;
    if (!res.ok) {
      process.stderr.write(`vigia: ${res.status} ${answer.error?.message ?? JSON.stringify(answer)}\n`);
      return EXIT_REFUSED;
    }
    process.stdout.write(formatVersions(answer.versions ?? [answer as VersionLine]));
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return EXIT_BAD_INPUT;
  }
}

const percentArg = numberArg(0, 100);
const segment = (what: string) => (value: string): string => {
  if (!/^[\w.+-]+$/.test(value)) throw new InvalidArgumentError(`expected a ${what} (letters, digits, . _ + -).`);
  return encodeURIComponent(value);
};

/**
 * `vigia admin ...`: the rollout commands against a running service's admin API (bearer
 * token from VIGIA_ADMIN_TOKEN, VIGIA_ADMIN_TOKEN_FILE or --token-file).
 */
export function adminCommand(done: (code: number) => void): Command {
  const admin = new Command('admin').description('roll model versions out on a running service: load, promote, rollback, canary, shadow, unload, status');
  const sub = (name: string, description: string) =>
    admin
      .command(name)
      .description(description)
      .addOption(urlOption())
      .option('--token-file <file>', 'a file holding the admin token (default: VIGIA_ADMIN_TOKEN, or the file VIGIA_ADMIN_TOKEN_FILE names)')
      .addHelpText('after', '\nExit codes: 0 done, 1 refused by the service or unreachable, 2 bad usage.')
      .exitOverride();
  const m = segment('model name');
  const v = segment('version');
  sub('status', 'every version of every model: state, role, reason').action(async (flags: AdminFlags) => done(await call(flags, 'GET', '/v1/admin/models', undefined)));
  sub('load', 'load a version from <models>/<model>/<version>/ beside the running ones (checked for parity); it takes no traffic yet')
    .argument('<model>', 'model name', m).argument('<version>', 'version', v)
    .action(async (model: string, version: string, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/versions/${version}/load`, {})));
  sub('promote', 'make a loaded version the one that answers; the current stable stays resident for a rollback')
    .argument('<model>', 'model name', m).argument('<version>', 'version', v)
    .action(async (model: string, version: string, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/versions/${version}/promote`, {})));
  sub('rollback', 'make the previous stable version answer again (instant: it is resident)')
    .argument('<model>', 'model name', m)
    .action(async (model: string, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/rollback`, {})));
  sub('canary', 'send <percent> of the traffic to a loaded version (sticky per X-Caller-Id); 0 stops it')
    .argument('<model>', 'model name', m).argument('<version>', 'version', v).argument('<percent>', 'share of the traffic, 0 to 100', percentArg)
    .action(async (model: string, version: string, percent: number, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/canary`, { version: decodeURIComponent(version), percent })));
  sub('shadow', 'score a copy of the traffic with a loaded version after each answer ("off" stops it)')
    .argument('<model>', 'model name', m).argument('<version>', 'version, or off', v)
    .action(async (model: string, version: string, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/shadow`, { version: version === 'off' ? null : decodeURIComponent(version) })));
  sub('unload', 'take a version out of service; its session is released once its requests end')
    .argument('<model>', 'model name', m).argument('<version>', 'version', v)
    .action(async (model: string, version: string, flags: AdminFlags) => done(await call(flags, 'POST', `/v1/admin/models/${model}/versions/${version}/unload`, {})));
  return admin;
}
