import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BundleError } from '../../src/errors.js';
import { parseManifest } from '../../src/model/manifest.js';
import { ROOT } from '../helpers/app.js';

const demoText = readFileSync(join(ROOT, 'models', 'credit-default', 'vigia.json'), 'utf8');
const demo = () => JSON.parse(demoText) as Record<string, any>;
const parse = (json: unknown) => parseManifest(JSON.stringify(json), 'bundle/vigia.json');

describe('parseManifest', () => {
  it('reads the demo manifest: 23 features, threshold 0.20 and the seed credit bands', () => {
    const m = parseManifest(demoText, 'vigia.json');
    assert.equal(m.name, 'credit-default');
    assert.equal(m.features.length, 23);
    assert.equal(m.threshold, 0.2);
    assert.deepEqual(m.bands.map((b) => [b.name, b.minProbability]), [['critical', 0.5], ['moderate', 0.2], ['low', 0]]);
    assert.equal(m.features.find((f) => f.name === 'EDUCATION')!.kind, 'categorical');
    assert.deepEqual(m.features.find((f) => f.name === 'SEX')!.categories, [1, 2]);
    assert.equal(m.labelColumn, 'default.payment.next.month');
    assert.ok((m.training['test_auc'] as number) > 0.77);
  });

  it('names the file, the field path and the value of a bad feature kind', () => {
    const j = demo();
    j.features[2].kind = 'numerc';
    assert.throws(() => parse(j), (err: unknown) => err instanceof BundleError && err.message === 'bundle/vigia.json: field "features[2].kind" must be one of numeric, categorical, binary, got "numerc"');
  });

  it('rejects a missing probability output, a threshold out of range and an invalid name', () => {
    const a = demo();
    delete a.model.probability_output;
    assert.throws(() => parse(a), /field "model.probability_output" must be a non-empty string, got nothing/);
    const b = demo();
    b.decision.threshold = 1.5;
    assert.throws(() => parse(b), /field "decision.threshold" must be a number from 0 to 1, got 1.5/);
    const c = demo();
    c.name = 'Credit Default';
    assert.throws(() => parse(c), /field "name" must be lower-case letters.*got "Credit Default"/);
  });

  it('rejects bands without a band at 0, with duplicates, and binary features without two codes', () => {
    const a = demo();
    a.decision.bands = a.decision.bands.slice(0, 2);
    assert.throws(() => parse(a), /decision.bands" must include a band with min_probability 0/);
    const b = demo();
    b.features[1].categories = [1, 2, 3];
    assert.throws(() => parse(b), /features\[1\].categories" of a binary feature must hold exactly 2 codes, got \[1,2,3\]/);
    const c = demo();
    c.features[3].name = 'LIMIT_BAL';
    assert.throws(() => parse(c), /features\[3\].name" repeats the feature "LIMIT_BAL"/);
  });

  it('reports invalid JSON with the file name', () => {
    assert.throws(() => parseManifest('{ nope', 'x/vigia.json'), /^BundleError: x\/vigia.json: is not valid JSON/);
  });

  it('reads a monitor-only manifest: no model, the reference score column, and where the score is in a serving response', () => {
    const j = demo();
    delete j.model;
    j.reference.score_column = 'score';
    j.serving = { output: 'probabilities', column: 1 };
    const m = parse(j);
    assert.equal(m.model, undefined);
    assert.equal(m.scoreColumn, 'score');
    assert.deepEqual(m.serving, { output: 'probabilities', column: 1 });
    assert.deepEqual(parse(demo()).serving, { output: undefined, column: 1 }, 'the positive column of a binary classifier by default');
  });

  it('asks a monitor-only manifest for its score column, and refuses one beside a model or naming a feature', () => {
    const a = demo();
    delete a.model;
    assert.throws(() => parse(a), /field "reference.score_column" is required in a bundle without "model" \(monitor-only\)/);
    const b = demo();
    b.reference.score_column = 'score';
    assert.throws(() => parse(b), /field "reference.score_column" is "score", but the bundle has a model, which scores the reference sample itself/);
    const c = demo();
    delete c.model;
    c.reference.score_column = 'AGE';
    assert.throws(() => parse(c), /field "reference.score_column" is "AGE", which is a feature/);
    const d = demo();
    d.serving = { column: -1 };
    assert.throws(() => parse(d), /field "serving.column" must be a number from 0 to 100000, got -1/);
  });
});
