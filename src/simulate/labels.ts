import { ServiceUnreachable, errorText, type HttpClient } from '../client/http.js';

export interface LabelCounts {
  readonly queued: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly conflicting: number;
  readonly unknown: number;
  readonly failed: number;
  /** The first failure, when one happened. */
  readonly failure: string | undefined;
}

/** Labels per POST /v1/labels (the service takes up to 100,000). */
const BATCH = 5000;
/** How often due labels are looked for. */
const TICK_MS = 200;

/**
 * Posts the label of each answered prediction to `POST /v1/labels` once `delayMs` has passed
 * since its answer, as late outcomes arrive in production. Labels that fall due together go
 * in one request; one request at a time. `close()` waits for every queued label to fall due
 * and be posted.
 */
export class LabelPoster {
  private readonly queue: { id: string; label: 0 | 1; dueAt: number }[] = [];
  private head = 0;
  private posting: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private counts = { queued: 0, accepted: 0, duplicate: 0, conflicting: 0, unknown: 0, failed: 0 };
  private failure: string | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: { client: HttpClient; delayMs: number; now?: () => number }) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.postDue(), TICK_MS);
    this.timer.unref();
  }

  /** Queues one prediction's label; answers arrive in time order, so the queue stays sorted by due time. */
  add(predictionId: string, label: 0 | 1): void {
    this.queue.push({ id: predictionId, label, dueAt: this.now() + this.opts.delayMs });
    this.counts.queued++;
  }

  /** Labels queued and not yet posted. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** When the last queued label falls due (ms, the poster's clock), or undefined when none waits. */
  get lastDueAt(): number | undefined {
    return this.pending === 0 ? undefined : this.queue[this.queue.length - 1]!.dueAt;
  }

  get outcome(): LabelCounts {
    return { ...this.counts, failure: this.failure };
  }

  private postDue(all = false): Promise<void> {
    const now = this.now();
    while (this.head < this.queue.length && (all || this.queue[this.head]!.dueAt <= now)) {
      let end = this.head;
      while (end < this.queue.length && end - this.head < BATCH && (all || this.queue[end]!.dueAt <= now)) end++;
      const batch = this.queue.slice(this.head, end);
      this.head = end;
      this.posting = this.posting.then(() => this.post(batch));
    }
    if (this.head > 10_000 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return this.posting;
  }

  private async post(batch: readonly { id: string; label: 0 | 1 }[]): Promise<void> {
    const body = JSON.stringify({ labels: batch.map((l) => ({ prediction_id: l.id, label: l.label })) });
    try {
      const a = await this.opts.client.request('POST', '/v1/labels', body);
      const parsed = JSON.parse(a.text) as Record<string, unknown>;
      if (a.status !== 200) throw new Error(`POST /v1/labels answered ${a.status}: ${errorText(parsed)}`);
      const n = (k: string) => (typeof parsed[k] === 'number' ? (parsed[k] as number) : 0);
      this.counts.accepted += n('accepted');
      this.counts.duplicate += n('duplicate');
      this.counts.conflicting += n('conflicting');
      this.counts.unknown += n('unknown');
    } catch (err) {
      this.counts.failed += batch.length;
      this.failure ??= err instanceof ServiceUnreachable || err instanceof Error ? err.message : String(err);
    }
  }

  /** Stops without posting what is still queued (the run failed). */
  abandon(): void {
    clearInterval(this.timer);
  }

  /** Waits until every queued label has fallen due and been posted, then stops the timer. */
  async close(): Promise<void> {
    const last = this.lastDueAt;
    if (last !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, last - this.now())));
    clearInterval(this.timer);
    await this.postDue(true);
  }
}
