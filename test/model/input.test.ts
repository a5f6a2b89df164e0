import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { InputEncoder } from '../../src/model/input.js';
import type { FeatureSpec } from '../../src/model/manifest.js';

const f = (name: string, extra: Partial<FeatureSpec> = {}): FeatureSpec => ({
  name, kind: 'numeric', monitor: true, importance: undefined, nullable: false, categories: undefined, description: undefined, ...extra,
});
const enc = new InputEncoder([f('amount'), f('age', { nullable: true }), f('channel', { kind: 'categorical', categories: [0, 1, 2] })]);
const fails = (input: unknown, reason: string, field: string | undefined, message: RegExp) => {
  const out = new Float32Array(3);
  assert.throws(() => enc.encode(input, out, 0, 'features'), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.reason, reason);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
};

describe('InputEncoder', () => {
  it('writes a valid row in manifest order, whatever the key order', () => {
    const out = new Float32Array(6);
    const unseen = enc.encode({ channel: 2, age: 30, amount: 12.5 }, out, 1, 'instances[1]');
    assert.deepEqual([...out], [0, 0, 0, 12.5, 30, 2]);
    assert.deepEqual(unseen, []);
  });

  it('scores null as missing (NaN) on a nullable feature and rejects it elsewhere', () => {
    const out = new Float32Array(3);
    enc.encode({ amount: 1, age: null, channel: 0 }, out, 0, 'features');
    assert.ok(Number.isNaN(out[1]));
    fails({ amount: null, age: 1, channel: 0 }, 'null_not_allowed', 'features.amount', /features.amount must not be null/);
  });

  it('rejects a missing feature, naming it', () => {
    fails({ amount: 1, channel: 0 }, 'missing_feature', 'features.age', /^features.age is missing$/);
  });

  it('rejects a numeric string, a boolean and an object where a number is required, quoting the value', () => {
    fails({ amount: '12', age: 1, channel: 0 }, 'wrong_type', 'features.amount', /features.amount must be a number, got "12"/);
    fails({ amount: true, age: 1, channel: 0 }, 'wrong_type', 'features.amount', /got true/);
    fails({ amount: { v: 1 }, age: 1, channel: 0 }, 'wrong_type', 'features.amount', /got \{"v":1\}/);
  });

  it('rejects Infinity and values beyond float32', () => {
    fails({ amount: Infinity, age: 1, channel: 0 }, 'not_finite', 'features.amount', /must be a finite number, got Infinity/);
    fails({ amount: 1e39, age: 1, channel: 0 }, 'not_finite', 'features.amount', /got 1e\+39/);
  });

  it('rejects unknown extra fields, naming the field', () => {
    fails({ amount: 1, age: 1, channel: 0, PAY_1: 3 }, 'unknown_feature', 'features.PAY_1', /features.PAY_1 is not a feature of this model \(value 3\)/);
  });

  it('scores an unseen category and reports it; rejects a fractional code', () => {
    const out = new Float32Array(3);
    const unseen = enc.encode({ amount: 1, age: 1, channel: 7 }, out, 0, 'features');
    assert.deepEqual(unseen, [{ feature: 'channel', value: 7 }]);
    assert.equal(out[2], 7);
    fails({ amount: 1, age: 1, channel: 1.5 }, 'wrong_type', 'features.channel', /must be an integer category code, got 1.5/);
  });

  it('rejects a row that is not an object', () => {
    fails([1, 2, 3], 'invalid_body', 'features', /features must be an object of feature values, got \[1,2,3\]/);
  });
});
