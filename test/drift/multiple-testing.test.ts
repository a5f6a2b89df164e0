import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adjustPValues, benjaminiHochberg, holm } from '../../src/drift/multiple-testing.js';

// Golden values from tools/multiple_testing_fixtures.py (numpy 1.24, each checked there
// against the rejection procedure of the paper it adjusts).
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/multiple_testing.json'), 'utf8')) as {
  cases: { name: string; p: (number | null)[]; holm: (number | null)[]; bh: (number | null)[] }[];
};
const numbers = (values: (number | null)[]) => values.map((v) => (v === null ? NaN : v));

function assertClose(actual: number[], expected: (number | null)[], name: string): void {
  assert.equal(actual.length, expected.length, name);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (e === null) assert.ok(Number.isNaN(a), `${name}[${i}]: expected NaN, got ${a}`);
    else assert.ok(Math.abs(a - e) <= 1e-12 * Math.max(1e-300, Math.abs(e)) || a === e, `${name}[${i}]: ${a} vs ${e}`);
  });
}

describe('holm', () => {
  for (const c of fixture.cases) {
    it(`gives numpy's Holm step-down adjusted p-values: ${c.name}`, () => assertClose(holm(numbers(c.p)), c.holm, c.name));
  }

  it('lifts the smallest of 23 p-values by 23: one p of 0.009 among 23 features is no longer under 0.01', () => {
    const adjusted = holm([0.009, ...Array.from({ length: 22 }, () => 0.5)]);
    assert.ok(Math.abs(adjusted[0]! - 0.207) < 1e-12);
  });
});

describe('benjaminiHochberg', () => {
  for (const c of fixture.cases) {
    it(`gives numpy's Benjamini–Hochberg step-up adjusted p-values: ${c.name}`, () => assertClose(benjaminiHochberg(numbers(c.p)), c.bh, c.name));
  }

  it('never adjusts a p-value above Holm, so it rejects at least what Holm rejects', () => {
    for (const c of fixture.cases) {
      const p = numbers(c.p);
      const h = holm(p);
      benjaminiHochberg(p).forEach((b, i) => assert.ok(Number.isNaN(b) || b <= h[i]! + 1e-15, `${c.name}[${i}]`));
    }
  });
});

describe('adjustPValues', () => {
  it('dispatches on the method and leaves the p-values as they are with none', () => {
    const p = [0.01, 0.2, NaN, 0.03];
    assert.deepEqual(adjustPValues(p, 'holm'), holm(p));
    assert.deepEqual(adjustPValues(p, 'bh'), benjaminiHochberg(p));
    assert.deepEqual(adjustPValues(p, 'none'), p);
  });

  it('refuses a value that is not a p-value, naming its index and value', () => {
    assert.throws(() => adjustPValues([0.1, 1.5], 'holm'), /pValues\[1\] = 1.5 is not a p-value in \[0, 1\]/);
    assert.throws(() => adjustPValues([-0.1], 'none'), /pValues\[0\] = -0.1 is not a p-value/);
  });

  it('gives an empty family an empty answer', () => {
    assert.deepEqual(adjustPValues([], 'bh'), []);
  });
});
