import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { calibrate, fitIsotonic } from '../../src/performance/isotonic.js';
import { ROOT } from '../helpers/app.js';

interface Case { name: string; scores: number[]; labels: number[]; queries: number[]; predicted: number[] }
const fixture = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/performance/isotonic.json'), 'utf8')) as { cases: Case[] };

describe('isotonic calibration', () => {
  for (const c of fixture.cases) {
    it(`equals sklearn IsotonicRegression(out_of_bounds='clip') on ${c.name}`, () => {
      const fitted = fitIsotonic(c.scores, c.labels);
      c.queries.forEach((q, i) => {
        const got = calibrate(fitted, q);
        assert.ok(Math.abs(got - c.predicted[i]!) <= 1e-12, `${c.name}: calibrate(${q}) = ${got}, sklearn ${c.predicted[i]}`);
      });
    });
  }

  it('is non-decreasing and stays within the observed label rates', () => {
    const c = fixture.cases.at(-1)!;
    const fitted = fitIsotonic(c.scores, c.labels);
    for (let i = 1; i < fitted.y.length; i++) assert.ok(fitted.y[i]! >= fitted.y[i - 1]!);
    assert.ok(fitted.y[0]! >= 0 && fitted.y.at(-1)! <= 1);
  });

  it('refuses mismatched lengths, no rows, NaN scores and labels that are not 0/1, naming the index', () => {
    assert.throws(() => fitIsotonic([0.1], [0, 1]), /scores has 1 entries but labels has 2/);
    assert.throws(() => fitIsotonic([], []), /no rows/);
    assert.throws(() => fitIsotonic([0.1, NaN], [0, 1]), /scores\[1\] is NaN/);
    assert.throws(() => fitIsotonic([0.1, 0.2], [0, 2]), /labels\[1\] = 2 is not 0 or 1/);
  });
});
