import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketSample, sampleKey, windowSample } from '../../src/drift/bucket-sample.js';

/** A sample of rows (i, 2i) offered in the given order, keyed by the hash of `id${i}`. */
function sampleOf(indexes: readonly number[], capacity: number): BucketSample {
  const s = new BucketSample(2, capacity);
  for (const i of indexes) s.offer(sampleKey(`id${i}`), (j) => (j === 0 ? i : 2 * i));
  return s;
}

const keptIds = (s: BucketSample) => {
  const { values } = s.rows();
  return Array.from({ length: s.size }, (_, r) => values[r * 2]!);
};

describe('BucketSample', () => {
  it('keeps the rows with the smallest keys, each with its own values, whatever order they come in', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => i);
    const forward = sampleOf(ids, 64);
    const backward = sampleOf([...ids].reverse(), 64);
    assert.equal(forward.size, 64);
    assert.deepEqual(keptIds(backward), keptIds(forward));
    const smallest = [...ids].sort((a, b) => sampleKey(`id${a}`) - sampleKey(`id${b}`)).slice(0, 64);
    assert.deepEqual(keptIds(forward), smallest);
    const { values } = forward.rows();
    for (let r = 0; r < 64; r++) assert.equal(values[r * 2 + 1], 2 * values[r * 2]!, 'a row\'s values travel with its key');
  });

  it('keeps every row while fewer than its capacity arrived', () => {
    assert.deepEqual([...keptIds(sampleOf([7, 3, 9], 8))].sort((a, b) => a - b), [3, 7, 9]);
  });

  it('merges exactly: the sample of two buckets\' union is the sample of their samples', () => {
    const a = Array.from({ length: 3000 }, (_, i) => i);
    const b = Array.from({ length: 2000 }, (_, i) => 10_000 + i);
    const union = sampleOf([...a, ...b], 128);
    const merged = new BucketSample(2, 128);
    for (const part of [sampleOf(a, 128), sampleOf(b, 128)]) {
      const { keys, values } = part.rows();
      for (let r = 0; r < part.size; r++) merged.offer(keys[r]!, (j) => values[r * 2 + j]!);
    }
    assert.deepEqual(keptIds(merged), keptIds(union));
  });

  it('is a uniform sample: 512 of 100,000 sequential ids spread evenly over them', () => {
    const s = sampleOf(Array.from({ length: 100_000 }, (_, i) => i), 512);
    const deciles = new Array<number>(10).fill(0);
    for (const id of keptIds(s)) deciles[Math.floor(id / 10_000)]! += 1;
    // 51.2 expected per decile; a binomial's 4-sigma band is ±28.
    for (const [d, n] of deciles.entries()) assert.ok(n > 51.2 - 28 && n < 51.2 + 28, `decile ${d}: ${n} rows`);
  });

  it('stores and loads itself byte for byte, and refuses bytes of another width', () => {
    const s = sampleOf(Array.from({ length: 300 }, (_, i) => i), 100);
    const bytes = s.toBytes();
    assert.equal(bytes.byteLength, 8 + 100 * (8 + 4 * 2));
    const loaded = BucketSample.fromBytes(bytes, 2, 100)!;
    assert.deepEqual(loaded.rows(), s.rows());
    assert.equal(BucketSample.fromBytes(bytes, 3, 100), undefined);
    assert.equal(BucketSample.fromBytes(bytes, 2, 50), undefined);
  });
});

describe('windowSample', () => {
  it('spreads the positions over the buckets by their rows and weighs each row by the positions it takes', () => {
    const big = sampleOf(Array.from({ length: 3000 }, (_, i) => i), 512);
    const small = sampleOf(Array.from({ length: 1000 }, (_, i) => 10_000 + i), 512);
    const w = windowSample([{ rows: 3000, sample: big }, { rows: 1000, sample: small }], 2000, 2);
    // 1500 positions fall in the first bucket: its 512 rows are reused in turn (weights 3 or 2).
    // 500 in the second: 500 of its rows, once each.
    assert.equal(w.count, 512 + 500);
    const weights = [...w.weights];
    assert.equal(weights.slice(0, 512).reduce((a, b) => a + b, 0), 1500);
    assert.deepEqual(new Set(weights.slice(0, 512)), new Set([3, 2]));
    assert.ok(weights.slice(512).every((x) => x === 1));
    // The first bucket's rows are its smallest keys first.
    assert.deepEqual(Array.from({ length: 5 }, (_, r) => w.rows[r * 2]), keptIds(big).slice(0, 5));
    assert.deepEqual([...w.keys.subarray(0, 5)], [...big.rows().keys.subarray(0, 5)], 'each row comes with its key');
  });

  it('gives a weighted mean that weighs each bucket by its rows, as the mean over the window\'s rows does', () => {
    // Bucket values: all 1 in a bucket of 9000 rows, all 5 in one of 1000: the window's mean is 1.4.
    const ones = new BucketSample(1, 16);
    const fives = new BucketSample(1, 16);
    for (let i = 0; i < 9000; i++) ones.offer(sampleKey(`a${i}`), () => 1);
    for (let i = 0; i < 1000; i++) fives.offer(sampleKey(`b${i}`), () => 5);
    const w = windowSample([{ rows: 9000, sample: ones }, { rows: 1000, sample: fives }], 2000, 1);
    let sum = 0;
    let total = 0;
    for (let i = 0; i < w.count; i++) {
      sum += w.weights[i]! * w.rows[i]!;
      total += w.weights[i]!;
    }
    assert.equal(total, 2000);
    assert.ok(Math.abs(sum / total - 1.4) < 1e-12, `${sum / total}`);
  });

  it('returns nothing for an empty window', () => {
    assert.equal(windowSample([], 2000, 3).count, 0);
    assert.equal(windowSample([{ rows: 0, sample: new BucketSample(3) }], 2000, 3).count, 0);
  });
});
