import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxScorer } from '../../src/model/onnx-scorer.js';
import { DEMO_MODELS, FIXTURE_MODELS, ROOT } from '../helpers/app.js';

interface Expected {
  rows: (number | null)[][];
  models: Record<string, { probability: number[]; label: number[] }>;
}
const expected = JSON.parse(readFileSync(join(FIXTURE_MODELS, 'expected.json'), 'utf8')) as Expected;
const sklearn = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'credit-default', 'sklearn_probabilities.json'), 'utf8')) as {
  rows: number[][]; probability: number[]; missing_rows: (number | null)[][]; missing_probability: number[];
};

const toFloat32 = (rows: (number | null)[][]): Float32Array => Float32Array.from(rows.flat().map((v) => (v === null ? Number.NaN : v)));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function load(dir: string, output: string): Promise<OnnxScorer> {
  return OnnxScorer.load({
    modelPath: join(dir, 'model.onnx'), manifestPath: join(dir, 'vigia.json'),
    inputName: 'float_input', probabilityOutput: output, positiveClassIndex: 1, width: dir.endsWith('credit-default') ? 23 : 3,
  });
}

describe('OnnxScorer on the fixture models', () => {
  for (const [name, output, zip] of [['zipmap-model', 'output_probability', true], ['tensor-model', 'probabilities', false]] as const) {
    it(`scores the ${name} (${zip ? 'ZipMap unwrapped at load' : 'plain tensor'}) as scikit-learn does, NaN rows included`, async () => {
      const scorer = await load(join(FIXTURE_MODELS, name), output);
      try {
        assert.equal(scorer.unwrappedZipMap, zip);
        const probs = await scorer.score(toFloat32(expected.rows), expected.rows.length);
        assert.ok(maxAbsDiff(probs, expected.models[name]!.probability) < 1e-6, `max diff ${maxAbsDiff(probs, expected.models[name]!.probability)}`);
      } finally {
        await scorer.close();
      }
    });
  }

  it('refuses a probability output the model does not have, naming the manifest field and the outputs', async () => {
    await assert.rejects(load(join(FIXTURE_MODELS, 'tensor-model'), 'output_probability'), /vigia.json: field "model.probability_output" is "output_probability", but the model's outputs are \["label","probabilities"\]/);
  });

  it('names the int64 label output as a label, not a width problem, and points at the float output', async () => {
    await assert.rejects(load(join(FIXTURE_MODELS, 'tensor-model'), 'label'), (err: unknown) => {
      assert.match((err as Error).message, /vigia.json: field "model.probability_output" is "label", an int64 tensor \(a class label, not a probability\); name a float output: "probabilities"/);
      assert.doesNotMatch((err as Error).message, /input width/);
      return true;
    });
  });

  it('refuses a feature count the model does not take', async () => {
    const dir = join(FIXTURE_MODELS, 'tensor-model');
    await assert.rejects(
      OnnxScorer.load({ modelPath: join(dir, 'model.onnx'), manifestPath: join(dir, 'vigia.json'), inputName: 'float_input', probabilityOutput: 'probabilities', positiveClassIndex: 1, width: 5 }),
      /model.onnx: fails on a test row of 5 features/,
    );
  });
});

describe('the demo model agrees with scikit-learn on the reference rows', () => {
  let scorer: OnnxScorer;
  before(async () => {
    scorer = await load(join(DEMO_MODELS, 'credit-default'), 'output_probability');
  });
  after(() => scorer.close());

  it('matches predict_proba within 1e-5 on the first 200 reference rows', async () => {
    const probs = await scorer.score(toFloat32(sklearn.rows), sklearn.rows.length);
    const diff = maxAbsDiff(probs, sklearn.probability);
    assert.ok(diff < 1e-5, `max |onnx - sklearn| = ${diff}`);
  });

  it('matches predict_proba within 1e-5 on rows with missing values (NaN follows the learned branch)', async () => {
    const probs = await scorer.score(toFloat32(sklearn.missing_rows), sklearn.missing_rows.length);
    const diff = maxAbsDiff(probs, sklearn.missing_probability);
    assert.ok(diff < 1e-5, `max |onnx - sklearn| = ${diff}`);
  });

  it('scores a batch and single rows identically', async () => {
    const batch = await scorer.score(toFloat32(sklearn.rows.slice(0, 10)), 10);
    for (let i = 0; i < 10; i++) {
      const one = await scorer.score(toFloat32([sklearn.rows[i]!]), 1);
      assert.equal(one[0], batch[i]);
    }
  });
});
