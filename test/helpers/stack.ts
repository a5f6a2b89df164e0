import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

/** A free TCP port on loopback (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs` naming what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, describeLast: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeLast() === '' ? '' : `\n${describeLast()}`}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Daemon {
  readonly url: string;
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts a server binary and waits until `readyPath` answers 200. */
export async function startDaemon(bin: string, args: string[], url: string, readyPath: string): Promise<Daemon> {
  const proc: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => { gone = true; });
  const stop = async () => {
    if (gone) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(`${bin} at ${url}${readyPath}`, 30_000, async () => {
      if (gone) throw new Error('exited');
      return (await fetch(`${url}${readyPath}`)).status === 200 ? true : undefined;
    }, () => (gone ? `${bin} exited:\n${out}` : out.slice(-2000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, output: () => out, stop };
}

export interface PromResult {
  readonly status: 'success' | 'error';
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: readonly { metric: Record<string, string>; value: [number, string] }[] };
}

/** An instant query through the Prometheus HTTP API. */
export async function promQuery(prometheusUrl: string, expr: string): Promise<PromResult> {
  const r = await fetch(`${prometheusUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  return (await r.json()) as PromResult;
}

export interface Delivery { readonly path: string; readonly body: WebhookPayload }
export interface WebhookPayload {
  readonly receiver: string;
  readonly status: string;
  readonly groupLabels?: Record<string, string>;
  readonly alerts: readonly { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

/** A webhook receiver on loopback that keeps every notification Alertmanager posts. */
export async function webhookReceiver(): Promise<{ url: string; deliveries: Delivery[]; close: () => Promise<void> }> {
  const deliveries: Delivery[] = [];
  const read = (req: IncomingMessage) => new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => resolve(body));
  });
  const server = createHttpServer((req, res) => {
    void read(req).then((body) => {
      deliveries.push({ path: req.url ?? '', body: JSON.parse(body) as WebhookPayload });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
