import assert from 'node:assert/strict';

/**
 * Two cohort aggregates of the same labels folded in different orders: the counts equal, the
 * float sums (Σ p, Σ (y − p)², Σ log loss) equal to 1e-12 relative, the rounding of a sum
 * depending on the order of its terms.
 */
export function sameAggregate(actual: Float64Array, expected: Float64Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > 1e-12 * Math.max(1, Math.abs(e))) assert.fail(`entry ${i}: ${a} against ${e}`);
  }
}
