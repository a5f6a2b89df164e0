import { ServiceUnreachable, errorText, type HttpClient } from '../client/http.js';

/** One request of a replay: the body to POST and how many rows it carries. */
export interface ReplayRequest {
  readonly body: string;
  readonly rows: number;
}

export interface ReplayProgress {
  readonly seconds: number;
  readonly sent: number;
  readonly answered: number;
  readonly errors: number;
  /** Answers per second since the previous progress report. */
  readonly rate: number;
}

export interface ReplayOptions {
  readonly client: HttpClient;
  /** The path requests are POSTed to. */
  readonly path: string;
  readonly requests: number;
  /** Builds request `i`; called in order 0, 1, 2... once each, just before it is sent. */
  readonly makeRequest: (i: number) => ReplayRequest;
  /** Requests per second (open loop); undefined: as fast as the service answers. */
  readonly rate: number | undefined;
  /** Most requests in flight at once. */
  readonly concurrency: number;
  /** Called on each 2xx answer with its parsed body. */
  readonly onAnswer?: (i: number, body: unknown) => void;
  readonly onProgress?: (p: ReplayProgress) => void;
  readonly progressEveryMs?: number;
  /** Stops sending new requests (in-flight ones are awaited). */
  readonly signal?: AbortSignal;
  /** Gives up when this many requests have failed and none has been answered (default 20). */
  readonly giveUpAfter?: number;
}

export interface Failure {
  readonly count: number;
  /** The first failure's message: the service's error code and message, or the network error. */
  readonly example: string;
}

export interface ReplayResult {
  readonly sent: number;
  readonly answered: number;
  readonly rowsAnswered: number;
  /** Failures by HTTP status, or by network error code (ECONNREFUSED...). */
  readonly failures: ReadonlyMap<string, Failure>;
  /** Latency of each answered request, ms: from its due time at a fixed rate, else from its send. */
  readonly latenciesMs: Float64Array;
  readonly seconds: number;
  /** Why the replay stopped early, if it did. */
  readonly stopped: string | undefined;
}

/**
 * Sends `requests` POSTs to a running service and measures them. With a `rate` the load is
 * open loop: request i is due at start + i / rate whatever the earlier answers, and its
 * latency runs from its due time, so a slow service shows in the numbers instead of slowing
 * the load (no coordinated omission). Without one, `concurrency` requests are kept in flight.
 * Never more than `concurrency` at once in both modes.
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const total = opts.requests;
  const latencies = new Float64Array(total);
  const failures = new Map<string, { count: number; example: string }>();
  const giveUpAfter = opts.giveUpAfter ?? 20;
  let sent = 0;
  let answered = 0;
  let rowsAnswered = 0;
  let failed = 0;
  let inFlight = 0;
  let stopped: string | undefined;
  const start = performance.now();

  const fail = (key: string, example: string) => {
    failed++;
    const f = failures.get(key);
    if (f === undefined) failures.set(key, { count: 1, example });
    else f.count++;
    if (answered === 0 && failed >= giveUpAfter) stopped ??= `the first ${failed} requests all failed`;
  };

  let lastProgress = { at: start, answered: 0 };
  const progress = () => {
    const now = performance.now();
    const rate = ((answered - lastProgress.answered) * 1000) / Math.max(1, now - lastProgress.at);
    lastProgress = { at: now, answered };
    opts.onProgress?.({ seconds: (now - start) / 1000, sent, answered, errors: failed, rate });
  };
  const ticker = opts.onProgress === undefined ? undefined : setInterval(progress, opts.progressEveryMs ?? 1000);
  ticker?.unref();

  const sendOne = async (i: number, dueAt: number): Promise<void> => {
    const req = opts.makeRequest(i);
    sent++;
    inFlight++;
    try {
      const a = await opts.client.request('POST', opts.path, req.body);
      let body: unknown;
      try {
        body = JSON.parse(a.text);
      } catch {
        body = a.text;
      }
      if (a.status >= 200 && a.status <= 299) {
        latencies[answered++] = performance.now() - dueAt;
        rowsAnswered += req.rows;
        opts.onAnswer?.(i, body);
      } else {
        fail(String(a.status), errorText(body));
      }
    } catch (err) {
      if (err instanceof ServiceUnreachable) fail(err.code, err.message);
      else fail('error', (err as Error).message);
    } finally {
      inFlight--;
    }
  };

  const halted = () => stopped !== undefined || (opts.signal?.aborted === true && (stopped = 'interrupted') !== undefined);

  if (opts.rate === undefined) {
    let next = 0;
    const worker = async () => {
      while (next < total && !halted()) await sendOne(next++, performance.now());
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, total) }, worker));
  } else {
    const interval = 1000 / opts.rate;
    await new Promise<void>((resolve) => {
      let next = 0;
      let timer: NodeJS.Timeout | undefined;
      const pump = () => {
        timer = undefined;
        const now = performance.now();
        while (next < total && !halted() && inFlight < opts.concurrency && start + next * interval <= now) {
          const i = next++;
          void sendOne(i, start + i * interval).then(pump);
        }
        if ((next >= total || halted()) && inFlight === 0) return resolve();
        if (next < total && !halted() && inFlight < opts.concurrency && timer === undefined) {
          timer = setTimeout(pump, Math.max(0, start + next * interval - performance.now()));
        }
      };
      opts.signal?.addEventListener('abort', () => pump(), { once: true });
      pump();
    });
  }
  if (ticker !== undefined) {
    clearInterval(ticker);
    progress();
  }
  return { sent, answered, rowsAnswered, failures, latenciesMs: latencies.slice(0, answered), seconds: (performance.now() - start) / 1000, stopped };
}
