import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadBundle } from '../../src/model/bundle.js';
import { DEMO_MODELS, FIXTURE_MODELS, ROOT } from '../helpers/app.js';

describe('loadExplainer (through loadBundle)', () => {
  const cases = [
    { name: 'the demo model (ZipMap output, 150 trees)', dir: join(DEMO_MODELS, 'credit-default'), width: 23, covers: /covers from 5000 reference rows$/ },
    { name: 'the ZipMap test model', dir: join(FIXTURE_MODELS, 'zipmap-model'), width: 3, covers: /covers from 8 reference rows$/ },
    { name: 'the plain-tensor test model', dir: join(FIXTURE_MODELS, 'tensor-model'), width: 3, covers: /covers from 8 reference rows$/ },
  ];
  for (const c of cases) {
    it(`explains ${c.name}, with covers from its reference sample (its nodes_hitrates carry none)`, async () => {
      const model = await loadBundle(c.dir);
      try {
        assert.ok(model.explainer.available);
        assert.equal(model.explainer.coverSource, 'reference_sample');
        assert.equal(model.explainer.link, 'logistic');
        assert.match(model.explainer.source, /^TreeEnsembleClassifier \(post_transform LOGISTIC, aggregate SUM, \d+ trees, \d+ nodes\)/);
        assert.match(model.explainer.source, c.covers);
        const rows = new Float32Array(c.width).fill(Number.NaN);
        const e = model.explainer.explain(rows, 0);
        assert.equal(e.contributions.length, c.width);
        const probability = (await model.scorer!.score(rows, 1))[0]!;
        assert.ok(Math.abs(1 / (1 + Math.exp(-e.margin)) - probability) < 1e-6, 'an all-missing row explains to the probability served');
      } finally {
        await model.scorer!.close();
      }
    });
  }

  it('marks a LinearClassifier not explainable, saying why, and still loads it to serve', async () => {
    const model = await loadBundle(join(ROOT, 'test/fixtures/explain/linear-model'));
    try {
      assert.equal(model.explainer.available, false);
      assert.ok(!model.explainer.available && model.explainer.reason === 'explanations need a model that is one ONNX tree ensemble (TreeEnsembleClassifier or TreeEnsembleRegressor); this model\'s operators are LinearClassifier');
      assert.equal((await model.scorer!.score(Float32Array.of(120, 35, 2), 1)).length, 1);
    } finally {
      await model.scorer!.close();
    }
  });
});
