import { join } from 'node:path';
import { readCsvColumns } from '../../src/data/csv.js';
import type { Baseline } from '../../src/drift/baseline.js';
import type { WindowColumns } from '../../src/drift/evaluate.js';
import type { ModelRegistry } from '../../src/model/registry.js';
import { ROOT } from './app.js';
import { REFERENCE_ROWS, columnsOf, demoBaseline } from './demo-baseline.js';

const NAMES = Object.keys(REFERENCE_ROWS[0]!);

/**
 * The rows of the demo model's data set (datasets/uci_credit_default.csv, 30,000 rows) that
 * its reference sample did not use, scored once by the model: the population the reference
 * was drawn from, without the rows it holds. A row is left out when it equals a reference row
 * on every feature, one data-set row per reference row (the file has no row id).
 */
export interface DemoPool {
  readonly baseline: Baseline;
  readonly rows: number;
  readonly columns: ReadonlyMap<string, Float64Array>;
  readonly scores: Float64Array;
}

export async function demoPool(registry: ModelRegistry): Promise<DemoPool> {
  const csv = await readCsvColumns(join(ROOT, 'datasets', 'uci_credit_default.csv'), { numeric: NAMES, required: NAMES });
  const data = NAMES.map((n) => (csv.columns.get(n) as { values: Float64Array }).values);
  const unused = new Map<string, number>();
  for (const r of REFERENCE_ROWS) {
    const key = NAMES.map((n) => r[n]).join(',');
    unused.set(key, (unused.get(key) ?? 0) + 1);
  }
  const kept: Record<string, number>[] = [];
  for (let i = 0; i < csv.rows; i++) {
    const key = data.map((col) => col[i]).join(',');
    const left = unused.get(key) ?? 0;
    if (left > 0) {
      unused.set(key, left - 1);
      continue;
    }
    kept.push(Object.fromEntries(NAMES.map((n, j) => [n, data[j]![i]!])));
  }
  const scored = await columnsOf(registry, kept);
  return { baseline: await demoBaseline(registry), rows: kept.length, columns: scored.columns, scores: scored.scores };
}

/** A seeded uniform generator on [0, 1) (mulberry32): the same seed draws the same windows on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct row indices of the pool, drawn without replacement (a partial Fisher–Yates shuffle). */
export function drawIndices(random: () => number, poolRows: number, k: number): Int32Array {
  if (k > poolRows) throw new RangeError(`cannot draw ${k} rows from a pool of ${poolRows}`);
  const order = Int32Array.from({ length: poolRows }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (poolRows - i));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order.slice(0, k);
}

/** The window of the pool's rows at `indices`, with the scores the model gave them. */
export function poolWindow(pool: DemoPool, indices: Int32Array): WindowColumns {
  const columns = new Map([...pool.columns].map(([n, col]) => [n, Float64Array.from(indices, (i) => col[i]!)]));
  return { columns, scores: Float64Array.from(indices, (i) => pool.scores[i]!) };
}

/** The pool's rows at `indices` changed by `edit` and scored again by the model: a population that moved. */
export async function editedPoolWindow(registry: ModelRegistry, pool: DemoPool, indices: Int32Array, edit: (row: Record<string, number>) => Record<string, number>): Promise<WindowColumns> {
  const rows = Array.from(indices, (i) => edit(Object.fromEntries(NAMES.map((n) => [n, pool.columns.get(n)![i]!]))));
  const { columns, scores } = await columnsOf(registry, rows);
  return { columns, scores };
}

/**
 * A population that moved: a draw of k rows of the pool with replacement, each with weight
 * exp(λ·z) where z is the row's `feature` in reference standard deviations, λ chosen (by
 * bisection) so that the weighted mean of the feature is `shiftSd` standard deviations above
 * the pool's. Rows stay real rows, so the features that go with this one move with it, and
 * the scores are the model's own.
 */
export function tiltedSampler(pool: DemoPool, feature: string, shiftSd: number): (k: number, random: () => number) => Int32Array {
  const values = pool.columns.get(feature);
  const f = pool.baseline.features.find((b) => b.name === feature);
  if (values === undefined || f === undefined || f.kind !== 'numeric') throw new RangeError(`${feature} is not a numeric feature of the demo model`);
  const sd = f.summary.std;
  let poolMean = 0;
  for (const v of values) poolMean += v / values.length;
  const z = Float64Array.from(values, (v) => (v - poolMean) / sd);
  const weights = (lambda: number) => {
    const zMax = z.reduce((a, b) => Math.max(a, lambda * b), -Infinity);
    return Float64Array.from(z, (x) => Math.exp(lambda * x - zMax));
  };
  const shiftOf = (w: Float64Array) => {
    let sw = 0, swz = 0;
    for (let i = 0; i < z.length; i++) { sw += w[i]!; swz += w[i]! * z[i]!; }
    return swz / sw;
  };
  let lo = 0, hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (shiftOf(weights(mid)) < shiftSd) lo = mid;
    else hi = mid;
  }
  const w = weights(lo);
  const cumulative = new Float64Array(w.length);
  let total = 0;
  w.forEach((x, i) => { total += x; cumulative[i] = total; });
  return (k, random) => Int32Array.from({ length: k }, () => {
    const u = random() * total;
    let a = 0, b = cumulative.length - 1;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cumulative[mid]! < u) a = mid + 1;
      else b = mid;
    }
    return a;
  });
}
