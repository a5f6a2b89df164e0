import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The service could not be reached at all (refused, reset, timed out, unknown host). */
export class ServiceUnreachable extends Error {
  override readonly name = 'ServiceUnreachable';
  constructor(
    readonly url: string,
    readonly code: string,
  ) {
    super(`cannot reach the service at ${url}: ${code}`);
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * A keep-alive HTTP client for one service: what the simulator and `vigia report` use to
 * talk to a running Vigia. A failed connection rejects with a `ServiceUnreachable` naming
 * the error code (ECONNREFUSED, ETIMEDOUT...); any HTTP status resolves.
 */
export interface HttpClient {
  readonly base: URL;
  request(method: 'GET' | 'POST', path: string, body?: string): Promise<HttpAnswer>;
  /** Closes the kept-alive connections. */
  close(): Promise<void>;
}

export function createHttpClient(base: URL, opts: { maxSockets: number; timeoutMs: number }): HttpClient {
  const https = base.protocol === 'https:';
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: opts.maxSockets }) : new Agent({ keepAlive: true, maxSockets: opts.maxSockets });
  const send = https ? httpsRequest : request;
  const prefix = base.pathname.replace(/\/$/, '');
  return {
    base,
    request: (method, path, body) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        const headers: Record<string, string | number> = { accept: 'application/json' };
        if (body !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = Buffer.byteLength(body);
        }
        const req = send({ agent, protocol: base.protocol, hostname: base.hostname, port: base.port, path: prefix + path, method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err: NodeJS.ErrnoException) => reject(new ServiceUnreachable(base.origin, err.code ?? err.message)));
        });
        req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
        req.on('error', (err: NodeJS.ErrnoException) => reject(new ServiceUnreachable(base.origin, err.code ?? err.message)));
        req.end(body);
      }),
    close: async () => {
      agent.destroy();
    },
  };
}

/** GET a JSON document; a non-2xx answer throws with the service's error message. */
export async function getJson(client: HttpClient, path: string): Promise<unknown> {
  const a = await client.request('GET', path);
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    throw new Error(`GET ${path} answered ${a.status} with a body that is not JSON: ${a.text.slice(0, 120)}`);
  }
  if (a.status < 200 || a.status > 299) throw new Error(`GET ${path} answered ${a.status}: ${errorText(body)}`);
  return body;
}

/** `code: message` of a Vigia error body, or the body itself. */
export function errorText(body: unknown): string {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return e !== undefined && typeof e.code === 'string' ? `${e.code}: ${String(e.message)}` : JSON.stringify(body)?.slice(0, 200) ?? String(body);
}
