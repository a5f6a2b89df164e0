import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BundleError } from '../../src/errors.js';
import { checkBundle, initBundle } from '../../src/model/bundle-authoring.js';
import { DEMO_MODELS, FIXTURE_MODELS, tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());
const DEMO = join(DEMO_MODELS, 'credit-default');
const LABEL = 'default.payment.next.month';

/** The first `n` lines of the demo reference sample, optionally with a column appended. */
function sample(name: string, n: number, extra = false): string {
  const lines = readFileSync(join(DEMO, 'reference.csv'), 'utf8').split('\n').slice(0, n + 1);
  const path = join(tmp.dir, name);
  writeFileSync(path, `${lines.map((l, i) => (extra ? `${l},${i === 0 ? 'EXTRA' : '1'}` : l)).join('\n')}\n`);
  return path;
}

describe('vigia bundle init', () => {
  it('writes a manifest from the model and the CSV: input and output names, the ZipMap noticed, kinds proposed, and the bundle checks clean', async () => {
    const out = join(tmp.dir, 'credit');
    const { manifestPath, notes } = await initBundle({ onnx: join(DEMO, 'model.onnx'), csv: sample('s.csv', 200), out, name: 'credit', label: LABEL });
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    assert.deepEqual(m.model, { file: 'model.onnx', input: 'float_input', probability_output: 'output_probability', positive_class_index: 1 });
    assert.equal(m.features.length, 23);
    assert.equal(m.features.find((f: { name: string }) => f.name === 'SEX').kind, 'binary');
    assert.equal(m.features.find((f: { name: string }) => f.name === 'LIMIT_BAL').kind, 'numeric');
    assert.equal(m.label.column, LABEL);
    assert.ok(notes.some((n) => /output_probability is a ZipMap/.test(n)));
    assert.deepEqual(await checkBundle(out), []);
  });

  it("writes a parity file that agrees with the independent NumPy reading of the tree ensemble (tools/build_parity.py)", async () => {
    const out = join(tmp.dir, 'credit-parity');
    await initBundle({ onnx: join(DEMO, 'model.onnx'), csv: sample('p.csv', 50), out, label: LABEL });
    const mine = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8')).rows as { probability: number }[];
    const numpy = JSON.parse(readFileSync(join(DEMO, 'parity.json'), 'utf8')).rows as { probability: number }[];
    assert.equal(mine.length, numpy.length);
    mine.forEach((r, i) => assert.ok(Math.abs(r.probability - numpy[i]!.probability) < 1e-5, `row ${i}`));
  });

  it("refuses a CSV whose feature columns are not the model's input width, naming both counts", async () => {
    await assert.rejects(initBundle({ onnx: join(DEMO, 'model.onnx'), csv: sample('w.csv', 20, true), out: join(tmp.dir, 'w'), label: LABEL }), (err: unknown) => {
      assert.ok(err instanceof BundleError);
      assert.match(err.message, /has 24 feature columns .*but the model's input float_input takes 23/);
      return true;
    });
  });

  it('asks for --label when no column looks like a label', async () => {
    await assert.rejects(initBundle({ onnx: join(DEMO, 'model.onnx'), csv: sample('l.csv', 20), out: join(tmp.dir, 'l') }), /has no label column \(none of label, target, y, class, default, is_fraud, fraud\); name it with --label/);
  });
});

describe('vigia bundle check', () => {
  it('lists every problem of a manifest at once, each naming its field and value', async () => {
    const out = join(tmp.dir, 'many');
    await initBundle({ onnx: join(FIXTURE_MODELS, 'tensor-model', 'model.onnx'), csv: join(FIXTURE_MODELS, 'tensor-model', 'reference.csv'), out });
    const path = join(out, 'vigia.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.decision.threshold = 'high';
    m.features[0].kind = 'text';
    delete m.label.column;
    m.decision.bands[0].min_probability = 2;
    writeFileSync(path, JSON.stringify(m));
    const problems = await checkBundle(out);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0]!, /field "features\[0\].kind" must be one of numeric, categorical, binary, got "text"/);
    assert.ok(problems.some((p) => /field "decision.threshold" must be a number from 0 to 1, got "high"/.test(p)));
    assert.ok(problems.some((p) => /field "decision.bands\[0\].min_probability" must be a number from 0 to 1, got 2/.test(p)));
    assert.ok(problems.some((p) => /field "label.column" must be a non-empty string, got nothing/.test(p)));
  });

  it('reports the reference sample and the model problems together once the manifest reads', async () => {
    const out = join(tmp.dir, 'both');
    await initBundle({ onnx: join(FIXTURE_MODELS, 'tensor-model', 'model.onnx'), csv: join(FIXTURE_MODELS, 'tensor-model', 'reference.csv'), out });
    const path = join(out, 'vigia.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.reference.file = 'absent.csv';
    m.model.probability_output = 'label';
    writeFileSync(path, JSON.stringify(m));
    const problems = await checkBundle(out);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /field "reference.file" names "absent.csv", which cannot be read/);
    assert.match(problems[1]!, /field "model.probability_output" is "label", an int64 tensor \(a class label, not a probability\); name a float output: "probabilities"/);
  });
});
