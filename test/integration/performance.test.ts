import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { realizedPerformance } from '../../src/performance/realized.js';
import type { ModelReport } from '../../src/report/model-report.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { holdoutRows } from '../helpers/demo-rows.js';

const DAY = 86_400_000;
const holdout = holdoutRows();
const costs = { falseNegative: 10, falsePositive: 1 };

/** Scores rows over HTTP in batches (with an event time when given) and returns each prediction's id and probability. */
async function score(t: TestApp, rows: readonly Record<string, number>[], eventTime?: number): Promise<{ id: string; probability: number }[]> {
  const out: { id: string; probability: number }[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const body = { instances: rows.slice(i, i + 500), ...(eventTime === undefined ? {} : { event_time: eventTime }) };
    const res = await request(t.app).post('/v1/models/credit-default/predict').send(body).expect(200);
    for (const p of res.body.predictions) out.push({ id: p.prediction_id, probability: p.probability });
  }
  return out;
}

async function postLabels(t: TestApp, ids: readonly string[], labels: readonly (0 | 1)[]) {
  const res = await request(t.app).post('/v1/labels').send({ labels: ids.map((id, i) => ({ prediction_id: id, label: labels[i] })) }).expect(200);
  assert.equal(res.body.accepted, ids.length);
}

const report = async (t: TestApp): Promise<ModelReport> => (await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body;

/** The value of one series in /metrics. */
async function gauge(t: TestApp, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = (await request(t.app).get('/metrics').expect(200)).text;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('performance on late labels, end to end over HTTP', () => {
  describe('with the bundle\'s 30-day label delay', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp({ drift: true, eventTime: { accept: true, maxAgeMs: 400 * DAY } });
    });
    after(() => t.close());

    it('computes the realized metrics on the matured cohort only, once labels arrive, and exports them', async () => {
      const old = holdout.slice(0, 1200);
      const recent = holdout.slice(1200, 1500);
      const matured = await score(t, old.map((r) => r.features), Date.now() - 40 * DAY);
      const fresh = await score(t, recent.map((r) => r.features));
      let r = await report(t);
      assert.equal(r.performance!.cohort.matured, 1200);
      assert.equal(r.performance!.cohort.labelled, 0);
      assert.equal(r.performance!.realized, null, 'no label yet: nothing realized');
      assert.equal(await gauge(t, 'vigia_performance_cohort_predictions', { model: 'credit-default' }), 1200);

      // Labels for 1,000 of the matured predictions and for all recent ones (not matured yet).
      await postLabels(t, matured.slice(0, 1000).map((p) => p.id), old.slice(0, 1000).map((x) => x.label));
      await postLabels(t, fresh.map((p) => p.id), recent.map((x) => x.label));
      r = await report(t);
      const p = r.performance!;
      assert.equal(p.cohort.labelled, 1000);
      assert.equal(p.cohort.label_coverage, 1000 / 1200);
      const direct = realizedPerformance(old.slice(0, 1000).map((x) => x.label), matured.slice(0, 1000).map((x) => x.probability), 0.2, costs);
      assert.equal(p.cohort.positives, direct.positives);
      assert.equal(p.realized!.auc, direct.auc);
      assert.equal(p.realized!.precision, direct.precision);
      assert.equal(p.realized!.recall, direct.recall);
      assert.equal(p.realized!.brier_score, direct.brierScore);
      assert.equal(p.realized!.cost_per_1000, direct.costPer1000);
      assert.equal(p.estimated!.n, 300, 'the estimate is made on the drift window: the recent predictions');

      assert.equal(await gauge(t, 'vigia_performance_auc', { source: 'realized' }), direct.auc);
      assert.equal(await gauge(t, 'vigia_performance_labelled_predictions', { model: 'credit-default' }), 1000);
      assert.equal(await gauge(t, 'vigia_label_coverage_ratio', { model: 'credit-default' }), 1000 / 1200);
      assert.equal(await gauge(t, 'vigia_performance_ci_upper', { metric: 'auc' }), direct.intervals.auc.upper);
      assert.ok((await gauge(t, 'vigia_performance_auc', { source: 'estimated' }))! > 0.5);
      assert.equal(await gauge(t, 'vigia_performance_severity', { metric: 'auc' }), { ok: 0, warning: 1, critical: 2 }[p.severities.auc as 'ok'] ?? -1);
      assert.equal(await gauge(t, 'vigia_threshold', { signal: 'recall', severity: 'warning' }), 0.55);
      assert.equal(await gauge(t, 'vigia_threshold', { signal: 'feature_psi', severity: 'critical' }), 0.25);
      // Label delays: 40 days for the old ones, none for the fresh ones.
      assert.equal(await gauge(t, 'vigia_label_delay_seconds_count', { model: 'credit-default' }), 1300);
      assert.equal(await gauge(t, 'vigia_label_delay_seconds_bucket', { le: '3600' }), 300);
    });
  });

  describe('with VIGIA_LABEL_DELAY=0, on a shifted population', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp({ drift: true, labelDelayMs: 0 });
    });
    after(() => t.close());

    it('estimates precision, recall and AUC before the labels that then realize close to the estimate', async () => {
      // Population shift: only clients who paid on time last month (PAY_0 ≤ 0). Their default
      // rate is a third lower, and the model's recall at 0.2 halves on them.
      const shifted = holdout.filter((r) => r.features['PAY_0']! <= 0);
      const answered = await score(t, shifted.map((r) => r.features));
      const before = (await report(t)).performance!;
      assert.equal(before.realized, null);
      const estimated = before.estimated!;
      await postLabels(t, answered.map((p) => p.id), shifted.map((r) => r.label));
      const realized = (await report(t)).performance!.realized!;

      const all = await score(t, holdout.map((r) => r.features));
      const unshifted = realizedPerformance(holdout.map((r) => r.label), all.map((p) => p.probability), 0.2, costs);
      for (const k of ['auc', 'precision', 'recall'] as const) {
        assert.ok(Math.abs(estimated[k]! - realized[k]!) < 0.04, `${k}: estimated ${estimated[k]}, realized ${realized[k]}`);
      }
      // The shift really moved the metrics, and the estimate moved with them.
      assert.ok(unshifted.recall - realized.recall! > 0.2, `recall ${unshifted.recall} → ${realized.recall}`);
      assert.ok(unshifted.recall - estimated.recall! > 0.2);
      assert.ok(unshifted.auc - realized.auc! > 0.05 && unshifted.auc - estimated.auc! > 0.05);
      assert.ok(Math.abs(estimated.cost_per_1000! - realized.cost_per_1000!) / realized.cost_per_1000! < 0.1);
    });
  });
});
