/** The rows of one model version's window, as columns, in the order they were read. */
export interface WindowRows {
  readonly n: number;
  /** One column per feature; NaN where the value was null or absent. */
  readonly columns: Map<string, Float64Array>;
  readonly scores: Float64Array;
  readonly tsMs: Float64Array;
  readonly latencyMs: Float64Array;
  /** Each row's sample key (src/drift/bucket-sample.ts: the hash of its prediction id), when the store read the ids; NaN otherwise. */
  readonly keys?: Float64Array;
}

/** Rows the column arrays hold at first; they grow by half when full. */
const INITIAL_CAPACITY = 1024;

/**
 * A window's rows held as columns in memory: rows are added at the end as they are read from
 * the audit log (either engine) and dropped from the front once older than the window.
 */
export class WindowColumns {
  private capacity = INITIAL_CAPACITY;
  private start = 0;
  private end = 0;
  private columns: Float64Array[];
  private scores = new Float64Array(INITIAL_CAPACITY);
  private ts = new Float64Array(INITIAL_CAPACITY);
  private latency = new Float64Array(INITIAL_CAPACITY);
  private keys = new Float64Array(INITIAL_CAPACITY);

  constructor(private readonly features: readonly string[]) {
    this.columns = features.map(() => new Float64Array(INITIAL_CAPACITY));
  }

  get size(): number {
    return this.end - this.start;
  }

  private reserve(extra: number): void {
    if (this.end + extra <= this.capacity) return;
    const live = this.end - this.start;
    const needed = live + extra;
    if (needed <= this.capacity / 2) {
      // Enough room once the expired front is dropped: slide the live rows down.
      for (const a of [...this.columns, this.scores, this.ts, this.latency, this.keys]) a.copyWithin(0, this.start, this.end);
    } else {
      this.capacity = Math.max(needed, Math.ceil(this.capacity * 1.5));
      const grow = (a: Float64Array) => {
        const b = new Float64Array(this.capacity);
        b.set(a.subarray(this.start, this.end));
        return b;
      };
      this.columns = this.columns.map(grow);
      this.scores = grow(this.scores);
      this.ts = grow(this.ts);
      this.latency = grow(this.latency);
      this.keys = grow(this.keys);
    }
    this.start = 0;
    this.end = live;
  }

  /** Adds one row: its features as the audit log's JSON text, its score, event time, latency and sample key (NaN: none). */
  add(features: string, probability: number, tsMs: number, latencyMs: number, key = Number.NaN): void {
    if (this.end === this.capacity) this.reserve(1);
    const i = this.end++;
    const values = JSON.parse(features) as Record<string, unknown>;
    const names = this.features;
    for (let j = 0; j < names.length; j++) {
      const v = values[names[j]!];
      this.columns[j]![i] = typeof v === 'number' ? v : Number.NaN;
    }
    this.scores[i] = probability;
    this.ts[i] = tsMs;
    this.latency[i] = latencyMs;
    this.keys[i] = key;
  }

  /** Drops from the front the rows older than `fromMs` and returns the window as views. */
  view(fromMs: number): WindowRows {
    while (this.start < this.end && this.ts[this.start]! < fromMs) this.start++;
    const view = (a: Float64Array) => a.subarray(this.start, this.end);
    return {
      n: this.end - this.start,
      columns: new Map(this.features.map((name, j) => [name, view(this.columns[j]!)])),
      scores: view(this.scores),
      tsMs: view(this.ts),
      latencyMs: view(this.latency),
      keys: view(this.keys),
    };
  }
}
