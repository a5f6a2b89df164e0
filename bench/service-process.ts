// The service in its own process for the benchmarks (bench/server.ts, or a bare node:http
// server for the floor), so the load generator's work stays out of the measured process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** A bare node:http server answering {} to everything: the latency floor of this machine and load generator. */
export const BARE_SERVER = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); }); process.on('SIGTERM', () => process.exit(0));`;

export interface ServiceProcess { proc: ChildProcess; url: string; dir: string }

/** The servers started and not stopped yet: stopped too when the benchmark itself is interrupted. */
const live = new Set<ServiceProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // A benchmark stopped by a signal (Ctrl-C, `kill`) leaves no server behind, nor its database.
    for (const s of live) {
      s.proc.kill('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
    }
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

/**
 * Starts `bench/server.ts` with `args` (or the bare server for `--bare`) on a fresh database
 * in its own temporary folder; resolves with its URL. `nodeFlags` go to node itself (e.g.
 * `--cpu-prof`).
 */
export async function startServer(name: string, args: string[], env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'vigia-bench-'));
  const argv = args[0] === '--bare' ? [...nodeFlags, '-e', BARE_SERVER] : [...nodeFlags, '--import', 'tsx', join(ROOT, 'bench', 'server.ts'), ...args];
  const proc = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', HOST: '127.0.0.1', VIGIA_DB: join(dir, 'vigia.db'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.on('exit', (code) => rej(new Error(`${name}: server exited ${code}`)));
  });
  const started = { proc, url, dir };
  live.add(started);
  return started;
}

export async function stopServer(s: ServiceProcess): Promise<void> {
  const done = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await done;
  live.delete(s);
  rmSync(s.dir, { recursive: true, force: true });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
