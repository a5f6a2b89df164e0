import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Baseline } from '../../src/drift/baseline.js';
import { evaluateDrift } from '../../src/drift/evaluate.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { emptyAggregate, evaluateAggregate, foldPrediction, latencyQuantile, mergeInto, windowAggregateLayout, type WindowAggregateLayout } from '../../src/drift/window-aggregate.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { columnsOf, demoBaseline, resample } from '../helpers/demo-baseline.js';

let registry: ModelRegistry;
let baseline: Baseline;
let layout: WindowAggregateLayout;
const bands = () => registry.get('credit-default')!.manifest.bands;

before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  baseline = await demoBaseline(registry);
  layout = windowAggregateLayout(baseline, bands());
});
after(() => registry.close());

type Window = Awaited<ReturnType<typeof columnsOf>>;
function aggregateOf(w: Window, from = 0, to = w.scores.length): Float64Array {
  const agg = emptyAggregate(layout);
  const cols = baseline.features.map((f) => w.columns.get(f.name)!);
  for (let i = from; i < to; i++) foldPrediction(layout, agg, (j) => cols[j]![i]!, w.scores[i]!, w.latencyMs[i]!);
  return agg;
}

async function shiftedWindow(): Promise<Window> {
  const rows = resample(20000).map((r, i) => ({ ...r, LIMIT_BAL: i % 3 === 0 ? r['LIMIT_BAL']! * 3 : r['LIMIT_BAL']!, BILL_AMT1: r['BILL_AMT1']! * 1.05 + 10 }));
  const w = await columnsOf(registry, rows);
  w.latencyMs.forEach((_, i) => { w.latencyMs[i] = 0.5 + (i % 97) * 0.3; });
  return w;
}

describe('the aggregate window against the exact row path', () => {
  it('gives the same PSI, chi-square, rates, mean, positive rate and verdicts as the rows, and KS within its stated error', async () => {
    const w = await shiftedWindow();
    const exact = evaluateDrift(baseline, w, bands(), DEFAULT_DRIFT_THRESHOLDS);
    const agg = evaluateAggregate(layout, aggregateOf(w), DEFAULT_DRIFT_THRESHOLDS);
    assert.equal(agg.n, exact.n);
    assert.deepEqual(agg.summary, exact.summary);
    for (const e of exact.features) {
      const a = agg.features.find((f) => f.feature === e.feature)!;
      assert.equal(a.psi, e.psi, e.feature);
      assert.deepEqual(a.chi2, e.chi2, e.feature);
      assert.deepEqual(a.bins, e.bins, e.feature);
      assert.equal(a.missing_rate, e.missing_rate);
      assert.equal(a.out_of_range_rate, e.out_of_range_rate);
      assert.equal(a.severity, e.severity, e.feature);
      if (e.ks === null) continue;
      const err = a.ks!.statistic_error!;
      assert.ok(err < 1 / 1024, `${e.feature}: error ${err}`);
      assert.ok(a.ks!.statistic <= e.ks.statistic + 1e-12 && e.ks.statistic <= a.ks!.statistic + err + 1e-12, `${e.feature}: D ${e.ks.statistic} vs sketch ${a.ks!.statistic} ± ${err}`);
      assert.ok(a.ks!.pvalue_lower! <= e.ks.pvalue * (1 + 1e-9) && e.ks.pvalue <= a.ks!.pvalue * (1 + 1e-9), `${e.feature}: p ${e.ks.pvalue}`);
    }
    const { prediction: pa } = agg;
    const { prediction: pe } = exact;
    assert.ok(Math.abs(pa.mean_probability! - pe.mean_probability!) < 1e-12);
    assert.equal(pa.score_psi, pe.score_psi);
    assert.equal(pa.positive_rate, pe.positive_rate);
    assert.deepEqual(pa.band_shares, pe.band_shares);
    assert.deepEqual(pa.risk_band_shares, pe.risk_band_shares);
    assert.ok(pa.score_ks!.statistic <= pe.score_ks!.statistic + 1e-12 && pe.score_ks!.statistic <= pa.score_ks!.statistic + pa.score_ks!.statistic_error! + 1e-12);
  });

  it('is exact in D for a feature whose reference has at most 1,025 distinct values', async () => {
    const w = await shiftedWindow();
    const exact = evaluateDrift(baseline, w, bands(), DEFAULT_DRIFT_THRESHOLDS);
    const agg = evaluateAggregate(layout, aggregateOf(w), DEFAULT_DRIFT_THRESHOLDS);
    const limit = agg.features.find((f) => f.feature === 'LIMIT_BAL')!;
    assert.equal(limit.ks!.statistic_error, 0);
    assert.equal(limit.ks!.statistic, exact.features.find((f) => f.feature === 'LIMIT_BAL')!.ks!.statistic);
  });

  it('merges exactly: three parts folded apart and added equal the whole, in any order', async () => {
    const w = await shiftedWindow();
    const whole = aggregateOf(w);
    const parts = [aggregateOf(w, 0, 7000), aggregateOf(w, 7000, 13000), aggregateOf(w, 13000)];
    const forward = emptyAggregate(layout);
    for (const p of parts) mergeInto(forward, p);
    const backward = emptyAggregate(layout);
    for (const p of [...parts].reverse()) mergeInto(backward, p);
    // Every count is equal; the score sum may differ by float rounding only.
    const SUM = 1;
    for (let i = 0; i < whole.length; i++) if (i !== SUM) assert.equal(forward[i], whole[i], `entry ${i}`);
    assert.ok(Math.abs(forward[SUM]! - whole[SUM]!) <= 1e-9 * whole[SUM]!);
    assert.deepEqual(evaluateAggregate(layout, forward, DEFAULT_DRIFT_THRESHOLDS).features, evaluateAggregate(layout, backward, DEFAULT_DRIFT_THRESHOLDS).features);
  });

  it('refuses to merge aggregates of different layouts', () => {
    assert.throws(() => mergeInto(emptyAggregate(layout), new Float64Array(3)), /different layouts/);
  });

  it('gives latency percentiles within 1 % of the rows', async () => {
    const w = await shiftedWindow();
    const agg = aggregateOf(w);
    const sorted = Float64Array.from(w.latencyMs).sort();
    for (const q of [0.5, 0.95, 0.99]) {
      const rows = sorted[Math.floor((sorted.length - 1) * q)]!;
      const est = latencyQuantile(layout, agg, q);
      assert.ok(Math.abs(est - rows) / rows <= 0.01, `p${q * 100}: ${est} vs ${rows}`);
    }
  });

  it('names its layout by the bins and cells: other bins or another reference give another hash, a rebuild of the same baseline the same', async () => {
    const otherBins = { ...baseline, score: { ...baseline.score, bins: { ...baseline.score.bins, edges: baseline.score.bins.edges.map((e, i) => (i === 1 ? e + 1e-9 : e)) } } };
    assert.notEqual(windowAggregateLayout(otherBins, bands()).hash, layout.hash);
    const otherSample = { ...baseline, score: { ...baseline.score, sample: baseline.score.sample.map((v, i) => (i === 0 ? v - 1e-9 : v)) } };
    assert.notEqual(windowAggregateLayout(otherSample, bands()).hash, layout.hash);
    assert.notEqual(windowAggregateLayout(baseline, bands(), 512).hash, layout.hash);
    assert.equal(windowAggregateLayout({ ...baseline, builtAt: new Date(1).toISOString() }, bands()).hash, layout.hash);
  });
});
