import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NotExplainableError, SplitMode, goesTrue, readTreeEnsemble } from '../../src/explain/onnx-trees.js';
import { ROOT } from '../helpers/app.js';

const bytes = (p: string) => new Uint8Array(readFileSync(join(ROOT, p)));

describe('readTreeEnsemble', () => {
  it('reads XGBoost\'s layout: BRANCH_LT, covers in nodes_hitrates, base_score in base_values', () => {
    const e = readTreeEnsemble(bytes('test/fixtures/explain/xgboost-model/model.onnx'), { probabilityOutput: 'probabilities', positiveClassIndex: 1 });
    assert.equal(e.roots.length, 25);
    assert.ok(e.hitrates !== undefined && e.hitrates[0]! > 1);
    assert.ok(Math.abs(e.base - Math.log(0.3 / 0.7)) < 1e-6);
    assert.ok([...e.mode].every((m) => m === SplitMode.Leaf || m === SplitMode.Lt));
    assert.equal(e.link, 'logistic');
  });

  it('reads every node mode of the random modes model', () => {
    const e = readTreeEnsemble(bytes('test/fixtures/explain/modes-model/model.onnx'), { probabilityOutput: 'probabilities', positiveClassIndex: 1 });
    assert.deepEqual([...new Set(e.mode)].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(e.base, -0.25);
  });

  it('refuses a binary classifier storing one class\'s weights when the positive class is column 0', () => {
    assert.throws(
      () => readTreeEnsemble(bytes('test/fixtures/models/tensor-model/model.onnx'), { probabilityOutput: 'probabilities', positiveClassIndex: 0 }),
      (err: unknown) => err instanceof NotExplainableError && /column 1 only/.test(err.message),
    );
  });

  it('refuses an output the ensemble does not compute', () => {
    assert.throws(
      () => readTreeEnsemble(bytes('test/fixtures/models/tensor-model/model.onnx'), { probabilityOutput: 'elsewhere', positiveClassIndex: 1 }),
      (err: unknown) => err instanceof NotExplainableError && err.message === 'the probability output "elsewhere" does not come from the tree ensemble',
    );
  });
});

describe('goesTrue', () => {
  it('routes as onnxruntime does: each comparison, and a missing value by nodes_missing_value_tracks_true', () => {
    assert.equal(goesTrue(SplitMode.Leq, 1, 1, 0), true);
    assert.equal(goesTrue(SplitMode.Lt, 1, 1, 0), false);
    assert.equal(goesTrue(SplitMode.Gte, 1, 1, 0), true);
    assert.equal(goesTrue(SplitMode.Gt, 1, 1, 0), false);
    assert.equal(goesTrue(SplitMode.Eq, 2, 2, 0), true);
    assert.equal(goesTrue(SplitMode.Neq, 2, 2, 0), false);
    assert.equal(goesTrue(SplitMode.Leq, Number.NaN, 1, 1), true);
    assert.equal(goesTrue(SplitMode.Leq, Number.NaN, 1, 0), false);
    // NaN != threshold is true, and onnxruntime does not special-case it.
    assert.equal(goesTrue(SplitMode.Neq, Number.NaN, 1, 0), true);
  });
});
