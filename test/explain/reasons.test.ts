import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReasonRanker } from '../../src/explain/reasons.js';

const groups = [
  { code: 'LATE', text: 'Recent payments are late', features: ['p0', 'p2'] },
  { code: 'BALANCE', text: 'Balances owed', features: ['b1'] },
  { code: 'LIMIT', text: 'Amount of credit granted', features: ['limit'] },
  { code: 'AGE', text: 'Age', features: ['age'] },
];
const features = ['limit', 'age', 'p0', 'p2', 'b1'];

describe('ReasonRanker', () => {
  it('sums the contributions of each group and ranks the groups that pushed the score up, strongest first', () => {
    const r = new ReasonRanker(features, groups, 4);
    assert.deepEqual(r.top([0.1, -0.3, 0.2, 0.25, 0.3]), [
      { code: 'LATE', reason: 'Recent payments are late', contribution: 0.45 },
      { code: 'BALANCE', reason: 'Balances owed', contribution: 0.3 },
      { code: 'LIMIT', reason: 'Amount of credit granted', contribution: 0.1 },
    ]);
  });

  it('never gives a group whose features pushed the score down, even when one of them pushed it up', () => {
    const r = new ReasonRanker(features, groups, 4);
    assert.deepEqual(r.top([0, 0, 0.5, -0.6, 0]), []);
  });

  it('stops at the cap, and orders ties by the manifest order', () => {
    const r = new ReasonRanker(features, groups, 2);
    assert.deepEqual(r.top([0.1, 0.1, 0.05, 0.05, 0.1]).map((x) => x.code), ['LATE', 'BALANCE']);
    assert.deepEqual(new ReasonRanker(features, groups, 4).top([0.1, 0.1, 0.05, 0.05, 0.1]).map((x) => x.code), ['LATE', 'BALANCE', 'LIMIT', 'AGE']);
  });
});
