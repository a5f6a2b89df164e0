import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCsvColumns } from '../../src/data/csv.js';
import { coversFromSample } from '../../src/explain/covers.js';
import { readTreeEnsemble } from '../../src/explain/onnx-trees.js';
import { TreeShap } from '../../src/explain/tree-shap.js';
import { onnxMargins } from '../helpers/onnx-margin.js';

const fixtures = join(import.meta.dirname, '../fixtures');
const bytes = (path: string) => new Uint8Array(readFileSync(join(fixtures, '..', '..', path)));
const rowsOf = (rows: (number | null)[][]) => Float32Array.from(rows.flat(), (v) => (v === null ? NaN : v));
const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0);

/** float32 leaves summed by onnxruntime in float32: a few ulps of the margin per tree. */
const MARGIN_TOLERANCE = 1e-4;

async function csvRows(file: string, names: readonly string[]): Promise<{ rows: Float32Array; count: number }> {
  const csv = await readCsvColumns(file, { numeric: names, required: names });
  const rows = new Float32Array(csv.rows * names.length);
  names.forEach((name, j) => {
    const col = csv.columns.get(name);
    assert.equal(col?.kind, 'numeric');
    for (let i = 0; i < csv.rows; i++) rows[i * names.length + j] = (col as { values: Float64Array }).values[i]!;
  });
  return { rows, count: csv.rows };
}

interface TestModel {
  readonly name: string;
  readonly path: string;
  readonly output: string;
  readonly features: readonly string[];
  readonly reference: string;
  readonly rows: () => Promise<{ rows: Float32Array; count: number }>;
}

const expected = JSON.parse(readFileSync(join(fixtures, 'models/expected.json'), 'utf8')) as { rows: (number | null)[][]; features: string[] };
const demoFeatures = (JSON.parse(readFileSync(join(fixtures, '../../models/credit-default/vigia.json'), 'utf8')) as { features: { name: string }[] }).features.map((f) => f.name);
const testRows = async () => ({ rows: rowsOf(expected.rows), count: expected.rows.length });

const MODELS: readonly TestModel[] = [
  { name: 'zipmap-model', path: 'test/fixtures/models/zipmap-model/model.onnx', output: 'output_probability', features: expected.features, reference: 'test/fixtures/models/zipmap-model/reference.csv', rows: testRows },
  { name: 'tensor-model', path: 'test/fixtures/models/tensor-model/model.onnx', output: 'probabilities', features: expected.features, reference: 'test/fixtures/models/tensor-model/reference.csv', rows: testRows },
  {
    name: 'the demo model credit-default', path: 'models/credit-default/model.onnx', output: 'output_probability', features: demoFeatures,
    reference: 'models/credit-default/reference.csv', rows: () => csvRows(join(fixtures, 'credit-default/holdout.csv'), demoFeatures),
  },
  {
    name: 'modes-model', path: 'test/fixtures/explain/modes-model/model.onnx', output: 'probabilities', features: ['a', 'b', 'c', 'd'],
    reference: 'test/fixtures/explain/modes-model/reference.csv',
    rows: async () => ({ rows: rowsOf(bruteForce.models['modes-model']!.rows), count: bruteForce.models['modes-model']!.rows.length }),
  },
];

interface BruteForce {
  models: Record<string, { path: string; rows: (number | null)[][]; base: number[]; phi: number[][]; margin: number[] }>;
}
const bruteForce = JSON.parse(readFileSync(join(fixtures, 'explain/brute_force.json'), 'utf8')) as BruteForce;

async function explainerFor(m: { path: string; reference?: string; features: readonly string[] }): Promise<TreeShap> {
  const e = readTreeEnsemble(bytes(m.path), { probabilityOutput: 'probabilities', positiveClassIndex: 1 });
  if (m.reference === undefined) return new TreeShap(e, e.hitrates!, m.features.length);
  const ref = await csvRows(join(fixtures, '..', '..', m.reference), m.features);
  return new TreeShap(e, coversFromSample(e, ref.rows, ref.count, m.features.length), m.features.length);
}

describe('TreeShap', () => {
  describe('local accuracy: the base value plus the contributions is the margin onnxruntime computes', () => {
    for (const m of MODELS) {
      it(`holds on every fixture row of ${m.name}, within ${MARGIN_TOLERANCE}`, async () => {
        const shap = await explainerFor(m);
        const { rows, count } = await m.rows();
        const width = m.features.length;
        const margins = await onnxMargins(bytes(m.path), 'float_input', m.output, rows, width);
        let worst = 0;
        for (let i = 0; i < count; i++) {
          const a = shap.explain(rows, i * width);
          worst = Math.max(worst, Math.abs(a.base + sum(a.contributions) - margins[i]!), Math.abs(a.margin - margins[i]!));
        }
        assert.ok(worst < MARGIN_TOLERANCE, `worst |base + Σφ − onnxruntime margin| = ${worst} over ${count} rows`);
      });
    }
  });

  it('matches XGBoost\'s own TreeSHAP (pred_contribs) on every fixture row, with XGBoost\'s covers read from nodes_hitrates', () => {
    const fx = JSON.parse(readFileSync(join(fixtures, 'explain/xgboost.json'), 'utf8')) as { rows: (number | null)[][]; contributions: number[][]; bias: number[]; margin: number[] };
    const e = readTreeEnsemble(bytes('test/fixtures/explain/xgboost-model/model.onnx'), { probabilityOutput: 'probabilities', positiveClassIndex: 1 });
    assert.ok(e.hitrates !== undefined);
    const shap = new TreeShap(e, e.hitrates, 23);
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
    for (const [name, fx] of Object.entries(bruteForce.models)) {
      it(`on ${name} (${fx.rows[0]!.length} features, ${fx.rows.length} rows, some missing)`, async () => {
        const width = fx.rows[0]!.length;
        const reference = name === 'brute-model' ? undefined : name === 'modes-model' ? 'test/fixtures/explain/modes-model/reference.csv' : `test/fixtures/models/${name}/reference.csv`;
        const features = name === 'modes-model' ? ['a', 'b', 'c', 'd'] : name === 'brute-model' ? [] : expected.features;
        const shap = await explainerFor({ path: fx.path, ...(reference === undefined ? {} : { reference }), features: features.length > 0 ? features : Array.from({ length: width }, String) });
        const rows = rowsOf(fx.rows);
        let worst = 0;
        fx.rows.forEach((_, i) => {
          const a = shap.explain(rows, i * width);
          worst = Math.max(worst, Math.abs(a.base - fx.base[i]!));
          a.contributions.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - fx.phi[i]![j]!))));
        });
        assert.ok(worst < 1e-9, `worst difference from brute force ${worst}`);
        assert.ok(fx.rows.some((r) => r.includes(null)), 'the fixture rows include missing values');
      });
    }
  });

});
