import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  LOG_LOSS_EPSILON,
  aucMetric,
  brierMetric,
  brierScore,
  calibration,
  confusionAt,
  eceMetric,
  ksSeparation,
  logLoss,
  logLossMetric,
  observedVsPredicted,
  performanceMetrics,
  precisionRecallF1,
  rocAuc,
} from '../../src/performance/metrics.js';

// Golden values from tools/performance_fixtures.py (scikit-learn 1.2.1, numpy 1.24).
interface Case {
  name: string;
  n: number;
  labels: string;
  probabilities: number[];
  auc: number | null;
  ks: number | null;
  brier: number;
  log_loss: number;
  observed_rate: number;
  mean_predicted: number;
  confusion: {
    threshold: number;
    tp: number;
    fp: number;
    tn: number;
    fn: number;
    precision: number;
    recall: number;
    f1: number;
  }[];
  calibration: { n_bins: number; edges: number[]; counts: number[]; prob_true: number[]; prob_pred: number[]; ece: number }[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/performance/metrics.json'), 'utf8')) as {
  log_loss_eps: number;
  cases: Case[];
};
const cases = fixture.cases.map((c) => ({ ...c, y: Float64Array.from(c.labels, Number), p: Float64Array.from(c.probabilities) }));
const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/**
 * Checks actual against sklearn's value to `tolerance` relative, and returns the deviation.
 * AUC, Brier, log loss, KS and ECE are exact arithmetic up to summation order (and AUC's
 * trapezoids in sklearn), so 1e-12 holds with a wide margin; the worst deviation is reported.
 */
function close(actual: number, expected: number, tolerance: number, what: string): number {
  const err = relErr(actual, expected);
  assert.ok(err <= tolerance, `${what}: ${actual} vs sklearn ${expected} (relative ${err})`);
  return err;
}

describe('fixture', () => {
  it('covers 10 to 20000 rows, heavy ties, exact 0 and 1, rare positives and a single class', () => {
    const sizes = cases.map((c) => c.n);
    assert.equal(Math.min(...sizes), 10);
    assert.equal(Math.max(...sizes), 20000);
    assert.ok(cases.every((c) => c.y.length === c.n && c.p.length === c.n));
    assert.ok(cases.some((c) => c.p.includes(0) && c.p.includes(1)));
    assert.ok(cases.some((c) => c.auc === null));
    assert.equal(fixture.log_loss_eps, LOG_LOSS_EPSILON);
  });
});

describe('rocAuc', () => {
  it('equals sklearn.metrics.roc_auc_score, ties included', (t) => {
    let worst = 0;
    for (const c of cases) {
      const auc = rocAuc(c.y, c.p);
      if (c.auc === null) assert.ok(Number.isNaN(auc), c.name);
      else worst = Math.max(worst, close(auc, c.auc, 1e-12, c.name));
    }
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('is the Mann–Whitney probability with ties counting half', () => {
    assert.equal(rocAuc([0, 1], [0.2, 0.8]), 1);
    assert.equal(rocAuc([0, 1], [0.8, 0.2]), 0);
    assert.equal(rocAuc([0, 1], [0.5, 0.5]), 0.5);
    // Pairs (pos, neg): (0.4 vs 0.1) 1, (0.4 vs 0.4) ½, (0.3 vs 0.1) 1, (0.3 vs 0.4) 0 → 2.5 / 4.
    assert.equal(rocAuc([1, 0, 1, 0], [0.4, 0.1, 0.3, 0.4]), 0.625);
    // -0 ties with 0.
    assert.equal(rocAuc([1, 0], [-0, 0]), 0.5);
  });

  it('is NaN when only one class is present or there are no rows', () => {
    assert.ok(Number.isNaN(rocAuc([0, 0, 0], [0.1, 0.5, 0.9])));
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.1, 0.9])));
    assert.ok(Number.isNaN(rocAuc([], [])));
  });

  it('does not mutate its inputs', () => {
    const y = [1, 0, 1, 0];
    const p = [0.9, 0.1, 0.3, 0.4];
    rocAuc(y, p);
    assert.deepEqual(y, [1, 0, 1, 0]);
    assert.deepEqual(p, [0.9, 0.1, 0.3, 0.4]);
  });
});

describe('ksSeparation', () => {
  it('equals max(tpr - fpr) over sklearn.metrics.roc_curve', (t) => {
    let worst = 0;
    for (const c of cases) {
      const ks = ksSeparation(c.y, c.p);
      if (c.ks === null) assert.ok(Number.isNaN(ks), c.name);
      else worst = Math.max(worst, close(ks, c.ks, 1e-12, c.name));
    }
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('is 0 when the positives never score higher, and NaN with one class', () => {
    assert.equal(ksSeparation([1, 0], [0.2, 0.8]), 0);
    assert.equal(ksSeparation([1, 0, 1, 0], [0.9, 0.1, 0.5, 0.5]), 0.5);
    assert.ok(Number.isNaN(ksSeparation([1, 1], [0.2, 0.8])));
  });
});

describe('confusionAt and precisionRecallF1', () => {
  it('count exactly what sklearn.metrics.confusion_matrix counts for p >= threshold', () => {
    for (const c of cases) {
      for (const e of c.confusion) {
        assert.deepEqual(confusionAt(c.y, c.p, e.threshold), { tp: e.tp, fp: e.fp, tn: e.tn, fn: e.fn }, `${c.name} @ ${e.threshold}`);
      }
    }
  });

  it('equal precision_score, recall_score and f1_score wherever sklearn needs no zero_division', (t) => {
    let worst = 0;
    let undefinedSeen = 0;
    for (const c of cases) {
      for (const e of c.confusion) {
        const what = `${c.name} @ ${e.threshold}`;
        const r = precisionRecallF1(e);
        if (e.tp + e.fp > 0) worst = Math.max(worst, close(r.precision, e.precision, 1e-15, `${what} precision`));
        else assert.ok(Number.isNaN(r.precision), what);
        if (e.tp + e.fn > 0) worst = Math.max(worst, close(r.recall, e.recall, 1e-15, `${what} recall`));
        else assert.ok(Number.isNaN(r.recall), what);
        // F1 is 2tp / (2tp + fp + fn): defined, and equal to sklearn's zero_division=0 value, unless tp + fp + fn = 0.
        if (e.tp + e.fp + e.fn > 0) worst = Math.max(worst, close(r.f1, e.f1, 1e-15, `${what} f1`));
        else assert.ok(Number.isNaN(r.f1), what);
        if (e.tp + e.fp === 0 || e.tp + e.fn === 0) undefinedSeen++;
      }
    }
    assert.ok(undefinedSeen >= 3, 'the fixture has thresholds with nothing predicted positive and classes without positives');
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('predicts positive at a probability equal to the threshold', () => {
    assert.deepEqual(confusionAt([1, 0, 1, 0], [0.5, 0.5, 0.49, 0.2], 0.5), { tp: 1, fp: 1, tn: 1, fn: 1 });
    assert.deepEqual(confusionAt([1, 0], [1, 0], 0), { tp: 1, fp: 1, tn: 0, fn: 0 });
    assert.deepEqual(confusionAt([1, 0], [1, 0], 1.5), { tp: 0, fp: 0, tn: 1, fn: 1 });
    assert.throws(() => confusionAt([1], [0.5], NaN), /threshold is NaN/);
  });

  it('reports NaN, not 0, for a ratio that is 0/0', () => {
    // Nothing predicted positive: precision 0/0, recall 0 of 3, F1 = 0/3 = 0.
    const none = precisionRecallF1({ tp: 0, fp: 0, tn: 5, fn: 3 });
    assert.ok(Number.isNaN(none.precision));
    assert.equal(none.recall, 0);
    assert.equal(none.f1, 0);
    // No actual positive: recall 0/0, precision 0 of 2.
    const noPositives = precisionRecallF1({ tp: 0, fp: 2, tn: 5, fn: 0 });
    assert.equal(noPositives.precision, 0);
    assert.ok(Number.isNaN(noPositives.recall));
    assert.equal(noPositives.f1, 0);
    // Neither: all three undefined.
    const neither = precisionRecallF1({ tp: 0, fp: 0, tn: 7, fn: 0 });
    assert.ok(Number.isNaN(neither.precision) && Number.isNaN(neither.recall) && Number.isNaN(neither.f1));
  });

  it('computes the harmonic mean when both are defined', () => {
    assert.deepEqual(precisionRecallF1({ tp: 6, fp: 2, tn: 10, fn: 6 }), { precision: 0.75, recall: 0.5, f1: 0.6 });
    assert.deepEqual(precisionRecallF1({ tp: 0, fp: 2, tn: 10, fn: 6 }), { precision: 0, recall: 0, f1: 0 });
    assert.throws(() => precisionRecallF1({ tp: -1, fp: 0, tn: 0, fn: 0 }), /tp = -1 is not a finite count ≥ 0/);
  });
});

describe('brierScore and logLoss', () => {
  it('equal sklearn.metrics.brier_score_loss', (t) => {
    let worst = 0;
    for (const c of cases) worst = Math.max(worst, close(brierScore(c.y, c.p), c.brier, 1e-12, c.name));
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('equal sklearn.metrics.log_loss with labels=[0, 1], clipping 0 and 1 at float64 eps', (t) => {
    let worst = 0;
    for (const c of cases) worst = Math.max(worst, close(logLoss(c.y, c.p), c.log_loss, 1e-12, c.name));
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('charge a confidently wrong 0 or 1 −ln(2^-52), not Infinity', () => {
    assert.ok(Math.abs(logLoss([1], [0]) - 52 * Math.LN2) < 1e-13);
    assert.ok(Math.abs(logLoss([0], [1]) - 52 * Math.LN2) < 1e-13);
    assert.equal(logLoss([1, 0], [1, 0]), -Math.log(1 - 2 ** -52));
    assert.equal(brierScore([1, 0], [0, 1]), 1);
    assert.ok(Number.isNaN(logLoss([], [])) && Number.isNaN(brierScore([], [])));
  });
});

describe('calibration', () => {
  it('bins as sklearn.calibration.calibration_curve(strategy="uniform") does, bit for bit', () => {
    let checked = 0;
    for (const c of cases) {
      for (const e of c.calibration) {
        const what = `${c.name}, ${e.n_bins} bins`;
        const result = calibration(c.y, c.p, e.n_bins);
        assert.deepEqual(
          result.bins.map((b) => b.lower),
          e.edges.slice(0, -1),
          what,
        );
        assert.deepEqual(
          result.bins.map((b) => b.upper),
          e.edges.slice(1),
          what,
        );
        assert.deepEqual(
          result.bins.map((b) => b.count),
          e.counts,
          what,
        );
        const filled = result.bins.filter((b) => b.count > 0);
        assert.deepEqual(
          filled.map((b) => b.observedRate),
          e.prob_true,
          what,
        );
        assert.deepEqual(
          filled.map((b) => b.meanPredicted),
          e.prob_pred,
          what,
        );
        assert.ok(result.bins.filter((b) => b.count === 0).every((b) => Number.isNaN(b.meanPredicted) && Number.isNaN(b.observedRate)));
        checked++;
      }
    }
    assert.ok(checked >= 20);
  });

  it('has the expected calibration error computed from calibration_curve’s bins', (t) => {
    let worst = 0;
    for (const c of cases) {
      for (const e of c.calibration) worst = Math.max(worst, close(calibration(c.y, c.p, e.n_bins).ece, e.ece, 1e-12, c.name));
    }
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('closes the bins on the right, at numpy.linspace’s edges', () => {
    const bins = calibration([0, 0, 0, 0, 0, 1], [0, 0.1, 0.2, 0.3, 0.30000000000000004, 1]).bins;
    // 0 and 0.1 in [0, 0.1]; 0.2 in (0.1, 0.2]; 0.3 and 0.30000000000000004 in (0.2, 0.30000000000000004]; 1 in (0.9, 1].
    assert.deepEqual(
      bins.map((b) => b.count),
      [2, 1, 2, 0, 0, 0, 0, 0, 0, 1],
    );
    assert.equal(bins[2]!.upper, 0.30000000000000004);
    assert.equal(bins[9]!.upper, 1);
  });

  it('is 0 for a perfectly calibrated model and NaN without rows', () => {
    const c = calibration([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]);
    assert.equal(c.ece, 0);
    assert.equal(c.bins.length, 10);
    assert.ok(Number.isNaN(calibration([], []).ece));
    assert.throws(() => calibration([0], [0.5], 0), /bins must be an integer ≥ 1, got 0/);
  });
});

describe('observedVsPredicted', () => {
  it('equals np.mean of the labels and of the probabilities', (t) => {
    let worst = 0;
    for (const c of cases) {
      const r = observedVsPredicted(c.y, c.p);
      assert.equal(r.observedRate, c.observed_rate, c.name);
      worst = Math.max(worst, close(r.meanPredicted, c.mean_predicted, 1e-12, c.name));
    }
    t.diagnostic(`worst relative deviation of the mean probability ${worst}`);
  });
});

describe('input checks', () => {
  const all: [string, (y: ArrayLike<number>, p: ArrayLike<number>) => unknown][] = [
    ['rocAuc', rocAuc],
    ['ksSeparation', ksSeparation],
    ['confusionAt', (y, p) => confusionAt(y, p, 0.5)],
    ['brierScore', brierScore],
    ['logLoss', logLoss],
    ['calibration', (y, p) => calibration(y, p)],
    ['observedVsPredicted', observedVsPredicted],
  ];

  it('refuse a label that is not 0 or 1, naming its index', () => {
    for (const [name, f] of all) {
      assert.throws(() => f([0, 1, 2], [0.1, 0.2, 0.3]), /labels\[2\] = 2 is not 0 or 1/, name);
      assert.throws(() => f([0, NaN], [0.1, 0.2]), /labels\[1\] = NaN is not 0 or 1/, name);
      assert.throws(() => f([0, 0.5], [0.1, 0.2]), /labels\[1\] = 0\.5/, name);
    }
  });

  it('refuse a probability outside [0, 1] or NaN, naming its index', () => {
    for (const [name, f] of all) {
      assert.throws(() => f([0, 1], [0.1, 1.2]), /probabilities\[1\] = 1\.2 is not a probability in \[0, 1\]/, name);
      assert.throws(() => f([0, 1], [-0.1, 0.5]), /probabilities\[0\] = -0\.1/, name);
      assert.throws(() => f([0, 1, 0], [0.1, 0.5, NaN]), /probabilities\[2\] = NaN/, name);
    }
  });

  it('refuse labels and probabilities of different lengths', () => {
    for (const [name, f] of all) {
      assert.throws(() => f([0, 1], [0.1]), /labels has 2 entries but probabilities has 1/, name);
    }
  });
});

describe('metric descriptors', () => {
  it('say which direction is better', () => {
    assert.deepEqual(aucMetric, { name: 'auc', better: 'high' });
    assert.deepEqual(brierMetric, { name: 'brier', better: 'low' });
    assert.deepEqual(logLossMetric, { name: 'log_loss', better: 'low' });
    assert.deepEqual(eceMetric, { name: 'ece', better: 'low' });
    assert.deepEqual(
      performanceMetrics.map((m) => `${m.name}:${m.better}`),
      ['auc:high', 'precision:high', 'recall:high', 'f1:high', 'ks:high', 'brier:low', 'log_loss:low', 'ece:low'],
    );
  });
});
