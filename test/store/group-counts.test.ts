import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addToCell, cellKey, cohortEntries, mergeCells, parseCells, windowEntries } from '../../src/store/group-counts.js';

const F = '{"SEX":"female"}';
const M = '{"SEX":"male"}';

describe('group counts of hourly buckets', () => {
  it('keys a cell by its digits then its groups, and gives a window\'s back as [groups, decision, count] and a cohort\'s as [groups, decision, label, count]', () => {
    const window = new Map();
    addToCell(window, cellKey(F, 1));
    addToCell(window, cellKey(F, 1));
    addToCell(window, cellKey(M, 0), 4);
    assert.deepEqual(windowEntries(window), [[F, 1, 2], [M, 0, 4]]);
    const cohort = new Map([[cellKey(F, 1, 0), 3], [cellKey(M, 0, 1), 2]]);
    assert.deepEqual(cohortEntries(cohort), [[F, 1, 0, 3], [M, 0, 1, 2]]);
  });

  it('sums several buckets by cell', () => {
    const a = new Map([[cellKey(F, 1, 1), 3]]);
    const b = new Map([[cellKey(F, 1, 1), 2], [cellKey(M, 0, 0), 5]]);
    assert.deepEqual(cohortEntries(mergeCells([a, b])), [[F, 1, 1, 5], [M, 0, 0, 5]]);
  });

  it('reads back what it stores, with the total it counts', () => {
    const cells = new Map([[cellKey(F, 1, 1), 5], [cellKey(M, 0, 0), 4]]);
    const parsed = parseCells(JSON.stringify(cohortEntries(cells)), 2)!;
    assert.deepEqual([...parsed.cells], [...cells]);
    assert.equal(parsed.total, 9);
    assert.equal(parseCells(JSON.stringify(windowEntries(new Map([[cellKey(M, 1), 7]]))), 1)!.total, 7);
  });

  it('refuses counts that are missing, malformed or repeated, so the buckets are folded again from the audit log', () => {
    for (const json of [
      null,
      undefined,
      'not json',
      '{}',
      JSON.stringify([[F, 1, 1]]),
      JSON.stringify([[F, 1, 1, 1, 1]]),
      JSON.stringify([[F, 2, 1, 1]]),
      JSON.stringify([[F, 1, 2, 1]]),
      JSON.stringify([[F, 1, 1, 0]]),
      JSON.stringify([[F, 1, 1, 1.5]]),
      JSON.stringify([[7, 1, 1, 1]]),
      JSON.stringify([[F, 1, 1, 1], [F, 1, 1, 1]]),
    ]) {
      assert.equal(parseCells(json, 2), undefined, String(json));
    }
  });
});
