import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCsvColumns } from '../../src/data/csv.js';
import { coversFromSample } from '../../src/explain/covers.js';
import { FastTreeShap, type LeafTableLimits } from '../../src/explain/fast-tree-shap.js';
import { SplitMode, readTreeEnsemble, type TreeEnsemble } from '../../src/explain/onnx-trees.js';
import { TreeShap } from '../../src/explain/tree-shap.js';
import { seededRandom } from '../helpers/stable-windows.js';

const ROOT = join(import.meta.dirname, '..', '..');
const bytes = (path: string) => new Uint8Array(readFileSync(join(ROOT, path)));
const rowsOf = (rows: (number | null)[][]) => Float32Array.from(rows.flat(), (v) => (v === null ? NaN : v));

/** Agreement asked of the two exact algorithms: relative to the row's largest |φ| (they round differently). */
const RELATIVE = 1e-9;

async function csvRows(path: string, names: readonly string[]): Promise<{ rows: Float32Array; count: number }> {
  const csv = await readCsvColumns(join(ROOT, path), { numeric: names, required: names });
  const rows = new Float32Array(csv.rows * names.length);
  names.forEach((name, j) => {
    const col = csv.columns.get(name);
    assert.equal(col?.kind, 'numeric');
    for (let i = 0; i < csv.rows; i++) rows[i * names.length + j] = (col as { values: Float64Array }).values[i]!;
  });
  return { rows, count: csv.rows };
}

/**
 * Random rows drawn column by column from a sample's values (so they reach every part of the
 * trees), a share of them missing, and values between the sample's.
 */
function randomRows(sample: Float32Array, sampleCount: number, width: number, count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count * width);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < width; j++) {
      const u = random();
      const v = sample[Math.floor(random() * sampleCount) * width + j]!;
      out[i * width + j] = u < 0.05 ? NaN : u < 0.2 ? v + (random() - 0.5) : v;
    }
  }
  return out;
}

/** The worst |fast − Algorithm 2| over rows, relative to each row's largest |φ|, and the worst margin difference. */
function disagreement(fast: FastTreeShap, reference: TreeShap, rows: Float32Array, count: number, width: number): { phi: number; margin: number } {
  const a = new Float64Array(width);
  const b = new Float64Array(width);
  let phi = 0;
  let margin = 0;
  for (let i = 0; i < count; i++) {
    const ma = fast.explainInto(rows, i * width, a);
    const mb = reference.explainInto(rows, i * width, b);
    margin = Math.max(margin, Math.abs(ma - mb));
    let scale = 0;
    for (let j = 0; j < width; j++) scale = Math.max(scale, Math.abs(b[j]!));
    for (let j = 0; j < width; j++) phi = Math.max(phi, Math.abs(a[j]! - b[j]!) / Math.max(scale, 1e-300));
  }
  return { phi, margin };
}

interface BundledModel {
  readonly name: string;
  readonly path: string;
  readonly features: readonly string[];
  /** Covers from this sample, else from nodes_hitrates. */
  readonly reference?: string;
}

const expected = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/expected.json'), 'utf8')) as { features: string[] };
const demoFeatures = (JSON.parse(readFileSync(join(ROOT, 'models/credit-default/vigia.json'), 'utf8')) as { features: { name: string }[] }).features.map((f) => f.name);
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

const BUNDLED: readonly BundledModel[] = [
  { name: 'the demo model credit-default', path: 'models/credit-default/model.onnx', features: demoFeatures, reference: 'models/credit-default/reference.csv' },
  { name: 'zipmap-model', path: 'test/fixtures/models/zipmap-model/model.onnx', features: expected.features, reference: 'test/fixtures/models/zipmap-model/reference.csv' },
  { name: 'tensor-model', path: 'test/fixtures/models/tensor-model/model.onnx', features: expected.features, reference: 'test/fixtures/models/tensor-model/reference.csv' },
  { name: 'modes-model (every node mode, random missing directions)', path: 'test/fixtures/explain/modes-model/model.onnx', features: ['a', 'b', 'c', 'd'], reference: 'test/fixtures/explain/modes-model/reference.csv' },
  { name: 'xgboost-model (covers from nodes_hitrates)', path: 'test/fixtures/explain/xgboost-model/model.onnx', features: numbered(23) },
  { name: 'brute-model (covers from nodes_hitrates)', path: 'test/fixtures/explain/brute-model/model.onnx', features: numbered(6) },
];

async function load(m: BundledModel): Promise<{ e: TreeEnsemble; covers: Float64Array; sample: Float32Array; sampleCount: number }> {
  const output = m.path.includes('zipmap') || m.path.includes('credit-default') ? 'output_probability' : 'probabilities';
  const e = readTreeEnsemble(bytes(m.path), { probabilityOutput: output, positiveClassIndex: 1 });
  if (m.reference !== undefined) {
    const ref = await csvRows(m.reference, m.features);
    return { e, covers: coversFromSample(e, ref.rows, ref.count, m.features.length), sample: ref.rows, sampleCount: ref.count };
  }
  // No sample: rows around the thresholds the trees split on.
  const width = m.features.length;
  const count = 200;
  const random = seededRandom(7);
  const sample = new Float32Array(count * width);
  const thresholds: number[][] = Array.from({ length: width }, () => []);
  for (let n = 0; n < e.nodeCount; n++) if (e.trueChild[n]! >= 0) thresholds[e.feature[n]!]!.push(e.threshold[n]!);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < width; j++) {
      const t = thresholds[j]!;
      sample[i * width + j] = t.length === 0 ? random() : t[Math.floor(random() * t.length)]! + (random() - 0.5) * 1e-3;
    }
  }
  return { e, covers: e.hitrates!, sample, sampleCount: count };
}

/**
 * A random ensemble of `trees` trees up to `depth` deep over `width` features: every node
 * mode, random missing directions, features repeated along paths, thresholds from a small
 * grid (so EQ and NEQ are met), leaves of value 0 among them, some trees a lone leaf.
 */
function randomEnsemble(seed: number, opts: { trees: number; depth: number; width: number; average: boolean; stop?: number }): TreeEnsemble {
  const random = seededRandom(seed);
  const feature: number[] = [];
  const threshold: number[] = [];
  const mode: number[] = [];
  const trueChild: number[] = [];
  const falseChild: number[] = [];
  const missingTrue: number[] = [];
  const value: number[] = [];
  const roots: number[] = [];
  let maxDepth = 0;
  const node = (depth: number): number => {
    const at = feature.length;
    feature.push(0);
    threshold.push(0);
    mode.push(SplitMode.Leaf);
    trueChild.push(-1);
    falseChild.push(-1);
    missingTrue.push(0);
    value.push(0);
    const leaf = depth === opts.depth || (depth > 1 && random() < (opts.stop ?? 0.15));
    if (leaf) {
      maxDepth = Math.max(maxDepth, depth);
      value[at] = random() < 0.1 ? 0 : Math.fround(random() * 2 - 1);
      return at;
    }
    feature[at] = Math.floor(random() * opts.width);
    threshold[at] = Math.fround(Math.floor(random() * 8) / 2);
    mode[at] = 1 + Math.floor(random() * 6);
    missingTrue[at] = random() < 0.5 ? 1 : 0;
    trueChild[at] = node(depth + 1);
    falseChild[at] = node(depth + 1);
    return at;
  };
  for (let t = 0; t < opts.trees; t++) {
    roots.push(feature.length);
    if (t === 1) {
      feature.push(0); threshold.push(0); mode.push(SplitMode.Leaf); trueChild.push(-1); falseChild.push(-1); missingTrue.push(0); value.push(0.25);
    } else {
      node(0);
    }
  }
  return {
    nodeCount: feature.length,
    roots: Int32Array.from(roots),
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    mode: Uint8Array.from(mode),
    trueChild: Int32Array.from(trueChild),
    falseChild: Int32Array.from(falseChild),
    missingTrue: Uint8Array.from(missingTrue),
    value: Float64Array.from(value),
    hitrates: undefined,
    base: -0.5,
    average: opts.average,
    link: 'logistic',
    maxDepth,
    width: opts.width,
    source: `random ensemble ${seed}`,
  };
}

/** Rows on the random ensembles' threshold grid (and between), 10 % missing. */
function gridRows(seed: number, count: number, width: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count * width }, () => {
    const u = random();
    return u < 0.1 ? NaN : u < 0.55 ? Math.floor(random() * 8) / 2 : random() * 4;
  });
}

describe('FastTreeShap', () => {
  describe('gives the values of Algorithm 2 (TreeShap) on 2,000 random rows, within 1e-9 of the row\'s largest |φ|', () => {
    for (const m of BUNDLED) {
      it(`on ${m.name}`, async () => {
        const { e, covers, sample, sampleCount } = await load(m);
        const width = m.features.length;
        const fast = new FastTreeShap(e, covers, width);
        const reference = new TreeShap(e, covers, width);
        assert.equal(fast.stats.fallbackTrees, 0, 'every tree of a bundled model gets tables');
        assert.equal(fast.base, reference.base);
        const count = 2000;
        const rows = randomRows(sample, sampleCount, width, count, 42);
        const d = disagreement(fast, reference, rows, count, width);
        assert.ok(d.phi < RELATIVE, `worst relative difference ${d.phi}`);
        assert.equal(d.margin, 0, 'the margins are the same sum in the same order');
      });
    }
  });

  it('matches XGBoost\'s own TreeSHAP (pred_contribs) on every fixture row, with XGBoost\'s covers read from nodes_hitrates', () => {
    const fx = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/explain/xgboost.json'), 'utf8')) as { rows: (number | null)[][]; contributions: number[][]; bias: number[]; margin: number[] };
    const e = readTreeEnsemble(bytes('test/fixtures/explain/xgboost-model/model.onnx'), { probabilityOutput: 'probabilities', positiveClassIndex: 1 });
    const shap = new FastTreeShap(e, e.hitrates!, 23);
    const rows = rowsOf(fx.rows);
    let worst = 0;
    fx.rows.forEach((_, i) => {
      const a = shap.explain(rows, i * 23);
      worst = Math.max(worst, Math.abs(a.base - fx.bias[i]!), Math.abs(a.margin - fx.margin[i]!));
      a.contributions.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - fx.contributions[i]![j]!))));
    });
    // XGBoost computes in float32: agreement to a few float32 ulps of the margin.
    assert.ok(worst < 1e-5, `worst difference from xgboost ${worst}`);
    assert.ok(fx.rows.some((r) => r.includes(null)), 'the fixture rows include missing values');
  });

  describe('equals the exact Shapley values found by enumerating every subset of features', () => {
    const brute = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/explain/brute_force.json'), 'utf8')) as { models: Record<string, { path: string; rows: (number | null)[][]; base: number[]; phi: number[][] }> };
    for (const [name, fx] of Object.entries(brute.models)) {
      it(`on ${name} (${fx.rows[0]!.length} features, ${fx.rows.length} rows, some missing)`, async () => {
        const m = BUNDLED.find((b) => b.path === fx.path);
        assert.ok(m !== undefined, `${fx.path} is among the bundled models`);
        const { e, covers } = await load(m);
        const width = fx.rows[0]!.length;
        const shap = new FastTreeShap(e, covers, width);
        const rows = rowsOf(fx.rows);
        let worst = 0;
        fx.rows.forEach((_, i) => {
          const a = shap.explain(rows, i * width);
          worst = Math.max(worst, Math.abs(a.base - fx.base[i]!));
          a.contributions.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - fx.phi[i]![j]!))));
        });
        assert.ok(worst < 1e-9, `worst difference from brute force ${worst}`);
      });
    }
  });

  describe('on random ensembles with every node mode, missing values, repeated features and leaves worth 0', () => {
    const cases = [
      { name: 'summed, shallow (every tree tabled)', seed: 1, trees: 40, depth: 5, width: 6, average: false },
      { name: 'averaged (aggregate AVERAGE)', seed: 2, trees: 25, depth: 6, width: 5, average: true },
      { name: 'deep (trees over 8 distinct features on a path keep Algorithm 2)', seed: 3, trees: 12, depth: 13, width: 14, average: false, stop: 0.3 },
    ];
    for (const c of cases) {
      it(`gives the values of Algorithm 2 and base + Σφ = margin: ${c.name}`, () => {
        const e = randomEnsemble(c.seed, c);
        const sample = gridRows(c.seed + 100, 500, c.width);
        const covers = coversFromSample(e, sample, 500, c.width);
        const fast = new FastTreeShap(e, covers, c.width);
        const reference = new TreeShap(e, covers, c.width);
        if (c.depth > 8) {
          assert.ok(fast.stats.fallbackTrees > 0 && fast.stats.fallbackTrees < c.trees, `some but not all trees fall back (${fast.stats.fallbackTrees} of ${c.trees})`);
          assert.ok(fast.stats.maxPathFeatures <= 8);
        } else {
          assert.equal(fast.stats.fallbackTrees, 0);
        }
        const count = c.depth > 8 ? 300 : 1000;
        const rows = gridRows(c.seed + 200, count, c.width);
        const d = disagreement(fast, reference, rows, count, c.width);
        assert.ok(d.phi < RELATIVE, `worst relative difference ${d.phi}`);
        assert.equal(d.margin, 0);
        for (let i = 0; i < 50; i++) {
          const a = fast.explain(rows, i * c.width);
          const total = a.base + a.contributions.reduce((s, v) => s + v, 0);
          assert.ok(Math.abs(total - a.margin) < 1e-9, `row ${i}: base + Σφ = ${total}, margin ${a.margin}`);
        }
      });
    }
  });

  describe('keeps Algorithm 2 for the trees its memory limits leave out, with the same values', () => {
    const e = randomEnsemble(4, { trees: 30, depth: 6, width: 6, average: false });
    const sample = gridRows(104, 400, 6);
    const covers = coversFromSample(e, sample, 400, 6);
    const reference = new TreeShap(e, covers, 6);
    const rows = gridRows(204, 500, 6);
    const limited = (name: string, limits: LeafTableLimits, check: (fast: FastTreeShap) => void) =>
      it(name, () => {
        const fast = new FastTreeShap(e, covers, 6, limits);
        check(fast);
        const d = disagreement(fast, reference, rows, 500, 6);
        assert.ok(d.phi < RELATIVE, `worst relative difference ${d.phi}`);
        assert.equal(d.margin, 0);
      });
    limited('no tree gets tables when the total may not exceed a few bytes (the lone leaf needs none)', { maxLeafEntries: 4096, maxTotalBytes: 16 }, (fast) => {
      assert.equal(fast.stats.fallbackTrees, 29);
    });
    limited('trees are given tables in order until the total limit', { maxLeafEntries: 4096, maxTotalBytes: 40_000 }, (fast) => {
      assert.ok(fast.stats.fallbackTrees > 0 && fast.stats.fallbackTrees < 30, `${fast.stats.fallbackTrees} of 30 trees fall back`);
      assert.ok(fast.stats.bytes - 6 * 8 * e.nodeCount < 80_000);
    });
    limited('a tree with a leaf over the per-leaf limit falls back', { maxLeafEntries: 3 * 2 ** 3, maxTotalBytes: 2 ** 26 }, (fast) => {
      assert.ok(fast.stats.fallbackTrees > 0, 'some trees have paths over 3 distinct features');
      assert.ok(fast.stats.maxPathFeatures <= 3);
    });
  });

  it('states the memory and build time of the demo model\'s tables', async () => {
    const { e, covers } = await load(BUNDLED[0]!);
    const fast = new FastTreeShap(e, covers, demoFeatures.length);
    assert.equal(fast.stats.trees, 150);
    assert.equal(fast.stats.leaves, e.roots.length + (e.nodeCount - e.roots.length) / 2, 'every leaf is counted once (a binary tree of n nodes has (n + 1) / 2 leaves)');
    assert.ok(fast.stats.maxPathFeatures <= 5, 'depth-5 trees');
    assert.ok(fast.stats.bytes > 100_000 && fast.stats.bytes < 8 * 2 ** 20, `${fast.stats.bytes} bytes`);
    assert.ok(fast.stats.buildMs > 0);
  });

  it('zeroes the output array first: a row explained into a used array gets the same values', () => {
    const e = randomEnsemble(5, { trees: 10, depth: 5, width: 4, average: false });
    const covers = coversFromSample(e, gridRows(105, 200, 4), 200, 4);
    const fast = new FastTreeShap(e, covers, 4);
    const rows = gridRows(205, 2, 4);
    const out = new Float64Array(4).fill(123);
    fast.explainInto(rows, 0, out);
    const first = Float64Array.from(out);
    fast.explainInto(rows, 4, out);
    fast.explainInto(rows, 0, out);
    assert.deepEqual(out, first);
  });
});
