import { Agent, request } from 'node:http';

export interface FixedRateResult {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  /** Latency percentiles in milliseconds, measured from each request's scheduled send time. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

const percentile = (sorted: Float64Array, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/**
 * An open-loop load at a fixed rate: request i is due at start + i / rate, and is sent as
 * soon as it is due (a setImmediate loop, no bursts), whatever the earlier answers. Latency
 * runs from the due time, so a stalled server is not hidden (no coordinated omission).
 * autocannon's `overallRate` sends in bursts across its connections, which alone gave
 * /healthz a 35 ms p99 at 1,000 req/s here.
 */
export async function fixedRate(opts: { url: string; rate: number; seconds: number; body: () => string }): Promise<FixedRateResult> {
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round(opts.rate * opts.seconds);
  const latencies = new Float64Array(total);
  let done = 0;
  let ok = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  const dueNs = (i: number): bigint => start + BigInt(Math.round((i * 1e9) / opts.rate));
  await new Promise<void>((resolve) => {
    let next = 0;
    const finish = (i: number, good: boolean) => {
      latencies[i] = Number(process.hrtime.bigint() - dueNs(i)) / 1e6;
      if (good) ok++;
      else errors++;
      if (++done === total) resolve();
    };
    const pump = () => {
      const now = process.hrtime.bigint();
      while (next < total && dueNs(next) <= now) {
        const i = next++;
        const body = opts.body();
        const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => finish(i, res.statusCode === 200));
        });
        req.on('error', () => finish(i, false));
        req.end(body);
      }
      if (next < total) setTimeout(pump, 0);
    };
    pump();
  });
  agent.destroy();
  const sorted = latencies.slice().sort();
  return { sent: total, ok, errors, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}
