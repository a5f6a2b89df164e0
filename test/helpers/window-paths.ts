import assert from 'node:assert/strict';
import type { ModelReport } from '../../src/report/model-report.js';

/**
 * Asserts that a report judged from the hourly aggregates (`aggregated`) agrees with the one
 * judged from the same rows (`exact`): the same verdicts, PSI and mean probability, and each
 * KS statistic within the sketch's stated error (D_sketch ≤ D ≤ D_sketch + ε).
 */
export function assertPathsAgree(exact: ModelReport, aggregated: ModelReport): void {
  assert.equal(aggregated.n, exact.n);
  assert.equal(aggregated.summary.status, exact.summary.status);
  // The reasons' texts quote D, which may differ within the error.
  const named = (xs: readonly string[]) => xs.map((x) => x.split(':')[0]);
  assert.deepEqual(named(aggregated.summary.critical), named(exact.summary.critical));
  assert.deepEqual(named(aggregated.summary.warnings), named(exact.summary.warnings));
  for (const fa of exact.features) {
    const fb = aggregated.features.find((f) => f.feature === fa.feature)!;
    assert.equal(fb.psi, fa.psi, fa.feature);
    assert.equal(fb.severity, fa.severity, `${fa.feature}: ${JSON.stringify(fa.ks)} vs ${JSON.stringify(fb.ks)}`);
    if (fa.ks === null) continue;
    assert.equal(fa.ks.statistic_error, undefined, 'the rows path is exact');
    const err = fb.ks!.statistic_error!;
    assert.ok(fb.ks!.statistic <= fa.ks.statistic + 1e-12 && fa.ks.statistic <= fb.ks!.statistic + err + 1e-12, `${fa.feature}: ${fa.ks.statistic} vs ${fb.ks!.statistic} ± ${err}`);
  }
  assert.ok(Math.abs(exact.prediction.mean_probability! - aggregated.prediction.mean_probability!) < 1e-12);
}
