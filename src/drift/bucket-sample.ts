/**
 * A bounded, uniform sample of the rows of one hourly bucket, kept beside the bucket's
 * aggregate (window-aggregate.ts) so that what needs rows — attribution drift explains
 * them — still has some when the window is too large to hold its rows.
 *
 * It is a bottom-k sample: each row gets a key, a 53-bit hash of its prediction id, and the
 * bucket keeps the `capacity` rows with the smallest keys. The hash is independent of the
 * values, so the kept rows are a uniform random sample of the bucket's rows; and which rows
 * are kept depends only on the set of ids, not on the order they were folded in. So a
 * bucket rebuilt from the audit log has the same sample, and samples merge exactly: the
 * bottom k of a union is the bottom k of the parts' bottom k (replicas' buckets, say).
 * Pure: no I/O.
 */

/** Rows kept per hourly bucket: 512 rows of the demo model's 23 features are 51 KB. */
export const BUCKET_SAMPLE_ROWS = 512;

/**
 * A 53-bit hash of a string (cyrb53: two 32-bit multiply-xorshift lanes), as a float64 in
 * [0, 2^53). Ties between two ids are a 1-in-10^15 event per pair and only decide which of
 * the two rows is kept.
 */
export function sampleKey(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The rows of one bucket with the smallest keys: `width` float32 values each, in the layout's feature order. */
export class BucketSample {
  /** Kept rows' keys, a max-heap (the largest kept key at 0, the next to go). */
  private readonly keys: Float64Array;
  private readonly values: Float32Array;
  private count = 0;

  constructor(
    readonly width: number,
    readonly capacity = BUCKET_SAMPLE_ROWS,
  ) {
    this.keys = new Float64Array(capacity);
    this.values = new Float32Array(capacity * width);
  }

  /** Rows kept (at most `capacity`). */
  get size(): number {
    return this.count;
  }

  /** Offers a row: kept when it is among the `capacity` smallest keys seen. `value(j)` is feature j (NaN when missing). */
  offer(key: number, value: (j: number) => number): void {
    let slot: number;
    if (this.count < this.capacity) {
      slot = this.count++;
      this.keys[slot] = key;
      slot = this.siftUp(slot);
    } else {
      if (!(key < this.keys[0]!)) return;
      this.keys[0] = key;
      slot = this.siftDown(0);
    }
    // The heap moved rows' values along with their keys; the new row's go where its key landed.
    const w = this.width;
    for (let j = 0; j < w; j++) this.values[slot * w + j] = value(j);
  }

  private swap(a: number, b: number): void {
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
    const w = this.width;
    for (let j = 0; j < w; j++) {
      const v = this.values[a * w + j]!;
      this.values[a * w + j] = this.values[b * w + j]!;
      this.values[b * w + j] = v;
    }
  }

  private siftUp(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(this.keys[i]! > this.keys[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private siftDown(i: number): number {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < this.count && this.keys[l]! > this.keys[top]!) top = l;
      if (r < this.count && this.keys[r]! > this.keys[top]!) top = r;
      if (top === i) return i;
      this.swap(i, top);
      i = top;
    }
  }

  /** The kept rows ordered by key (smallest first): any prefix is a uniform sample of the bucket. */
  rows(): { readonly keys: Float64Array; readonly values: Float32Array } {
    const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => this.keys[a]! - this.keys[b]!);
    const w = this.width;
    const keys = new Float64Array(this.count);
    const values = new Float32Array(this.count * w);
    order.forEach((from, to) => {
      keys[to] = this.keys[from]!;
      values.set(this.values.subarray(from * w, (from + 1) * w), to * w);
    });
    return { keys, values };
  }

  /** Stored form: the width (float64), the keys (float64), then the values (float32); rows in key order, little-endian. */
  toBytes(): Buffer {
    const { keys, values } = this.rows();
    const out = Buffer.alloc(8 + keys.byteLength + values.byteLength);
    out.writeDoubleLE(this.width, 0);
    out.set(new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength), 8);
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 8 + keys.byteLength);
    return out;
  }

  /** The sample stored by `toBytes`, or undefined when the bytes do not fit `width` and `capacity` (another layout). */
  static fromBytes(bytes: Uint8Array, width: number, capacity = BUCKET_SAMPLE_ROWS): BucketSample | undefined {
    const perRow = 8 + 4 * width;
    const body = bytes.byteLength - 8;
    if (body < 0 || body % perRow !== 0 || body / perRow > capacity) return undefined;
    const copy = new Uint8Array(bytes); // aligned for the typed views
    if (new DataView(copy.buffer).getFloat64(0, true) !== width) return undefined;
    const n = body / perRow;
    const keys = new Float64Array(copy.buffer, 8, n);
    const values = new Float32Array(copy.buffer, 8 + n * 8, n * width);
    const s = new BucketSample(width, capacity);
    for (let i = 0; i < n; i++) s.offer(keys[i]!, (j) => values[i * width + j]!);
    return s;
  }
}

/** Rows drawn from a window's bucket samples, each with how many of the window's positions it stands for. */
export interface WindowSample {
  /** Distinct rows, float32, row-major, `width` wide (the layout's feature order). */
  readonly rows: Float32Array;
  readonly count: number;
  /** How many sample positions each row takes (the weights of a mean over the positions). */
  readonly weights: Float64Array;
  /** Each row's key (the hash of its prediction id): names the row across evaluations. */
  readonly keys: Float64Array;
}

/**
 * An even sample of `positions` rows over a window kept as buckets (in time order), as
 * `evenSample` takes over a window's rows: the positions (i + ½)·N/positions of the window's
 * N rows fall in the buckets in proportion to their rows, and the t-th position that falls
 * in a bucket takes its sample's t-th row by key (a uniform draw from the bucket). A bucket
 * given more positions than it kept rows reuses them in turn; a row is returned once, with
 * its count of positions as its weight, so it is explained once. With weights, the mean
 * over the rows is the mean over the positions: each bucket weighs by its row count.
 */
export function windowSample(buckets: readonly { readonly rows: number; readonly sample: BucketSample }[], positions: number, width: number): WindowSample {
  let total = 0;
  for (const b of buckets) total += b.rows;
  const rows: Float32Array[] = [];
  const weights: number[] = [];
  const keys: number[] = [];
  if (total === 0 || positions <= 0) return { rows: new Float32Array(0), count: 0, weights: new Float64Array(0), keys: new Float64Array(0) };
  let before = 0;
  let p = 0;
  for (const b of buckets) {
    const end = before + b.rows;
    // The positions in [before, end): indexes p with (p + ½)·total/positions < end.
    let inBucket = 0;
    while (p < positions && ((p + 0.5) * total) / positions < end) {
      p++;
      inBucket++;
    }
    before = end;
    const kept = b.sample.size;
    if (inBucket === 0 || kept === 0) continue;
    const sorted = b.sample.rows();
    const distinct = Math.min(inBucket, kept);
    for (let t = 0; t < distinct; t++) {
      rows.push(sorted.values.subarray(t * width, (t + 1) * width));
      keys.push(sorted.keys[t]!);
      // Positions t, t + kept, t + 2·kept, … of this bucket take row t.
      weights.push(Math.floor((inBucket - t - 1) / kept) + 1);
    }
  }
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r, i * width));
  return { rows: out, count: rows.length, weights: Float64Array.from(weights), keys: Float64Array.from(keys) };
}
