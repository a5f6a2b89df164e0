import type { ExpiryOutcome, ObservationStore } from '../store/audit-log.js';

/**
 * Counts, every `intervalMs`, the KServe CloudEvent halves that have waited longer than
 * `timeoutMs` for their partner. They stay in the `cloudevents` table (never dropped) and
 * still pair if the partner comes later; the count is `vigia_ingest_unpaired_total`.
 * Background work: a failure is reported to `onError` and the next sweep tries again.
 */
export class PairExpiry {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;

  constructor(
    private readonly opts: {
      readonly store: Pick<ObservationStore, 'expireHalves'>;
      readonly timeoutMs: number;
      readonly intervalMs: number;
      readonly onSwept: (outcome: ExpiryOutcome) => void;
      readonly onError: (err: Error) => void;
      readonly now?: () => number;
    },
  ) {
    this.timer = setInterval(() => void this.sweep(), opts.intervalMs);
    this.timer.unref();
  }

  /** One sweep now (the timer's work; tests call it directly). */
  sweep(): Promise<void> {
    this.running ??= (async () => {
      try {
        const nowMs = (this.opts.now ?? Date.now)();
        this.opts.onSwept(await this.opts.store.expireHalves(nowMs - this.opts.timeoutMs, nowMs));
      } catch (err) {
        this.opts.onError(err as Error);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
