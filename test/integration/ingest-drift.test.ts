import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, MONITOR_ONLY_MODELS, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';
import { kserveHeaders, v2Request, v2Response } from '../helpers/kserve.js';

const OBSERVED = 'credit-default-observed';

interface FeatureReport { feature: string; severity: string; psi: number | null; reasons: unknown }

/** What the drift verdicts of a report are made of, without the model's name and the times. */
function verdicts(report: { summary: unknown; features: FeatureReport[]; prediction: unknown; dataset: unknown; diagnosis: unknown; n: number }) {
  return { n: report.n, summary: report.summary, features: report.features, prediction: report.prediction, dataset: report.dataset, diagnosis: report.diagnosis };
}

describe('a monitor-only bundle fed by ingest', () => {
  let scored: TestApp;
  let observed: TestApp;
  before(async () => {
    scored = await buildTestApp({ drift: true });
    observed = await buildTestApp({ modelsDir: MONITOR_ONLY_MODELS, drift: true });
  });
  after(async () => {
    await scored.close();
    await observed.close();
  });

  /** Scores rows with Vigia's demo model, then sends the same rows and scores to the monitor-only bundle: the API for even batches, KServe v2 CloudEvents for odd ones. */
  const replay = async (rows: Record<string, number>[], tag: string) => {
    for (let i = 0; i < rows.length; i += 100) {
      const batch = rows.slice(i, i + 100);
      const res = await request(scored.app).post('/predict').send({ instances: batch }).expect(200);
      const probabilities = (res.body.predictions as { probability: number }[]).map((p) => p.probability);
      if ((i / 100) % 2 === 0) {
        await request(observed.app).post(`/v1/models/${OBSERVED}/observations`).send({ observations: batch.map((features, j) => ({ features, probability: probabilities[j] })) }).expect(200);
      } else {
        const id = `${tag}-${i}`;
        const path = `/v1/models/${OBSERVED}/cloudevents`;
        await request(observed.app).post(path).set(kserveHeaders('response', id)).send(JSON.stringify(v2Response(probabilities))).expect(200);
        const paired = await request(observed.app).post(path).set(kserveHeaders('request', id)).send(JSON.stringify(v2Request(batch))).expect(200);
        assert.equal(paired.body.status, 'paired');
      }
    }
  };
  const reports = async () => [
    (await request(scored.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body,
    (await request(observed.app).get(`/v1/models/${OBSERVED}/report?refresh=true`).expect(200)).body,
  ];

  it('is HEALTHY on stable ingested traffic, exactly as the same traffic scored by Vigia', async () => {
    await replay(resample(400), 'stable');
    const [a, b] = await reports();
    assert.equal(b.summary.status, 'HEALTHY');
    assert.deepEqual(verdicts(b), verdicts(a));
  });

  it('raises the same drift verdicts, statistic for statistic, when the ingested traffic shifts', async () => {
    await replay(resample(1200).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3, PAY_0: Math.min(8, r['PAY_0']! + 2) })), 'shifted');
    const [a, b] = await reports();
    assert.equal(b.summary.status, 'CRITICAL');
    const severity = (r: { features: FeatureReport[] }, f: string) => r.features.find((x) => x.feature === f)!.severity;
    assert.equal(severity(b, 'LIMIT_BAL'), 'critical');
    assert.equal(severity(b, 'PAY_0'), 'critical');
    assert.deepEqual(verdicts(b), verdicts(a));
    const gauges = (await request(observed.app).get('/metrics').expect(200)).text;
    assert.match(gauges, /^vigia_drift_status\{model="credit-default-observed",version="1\.0\.0"\} 2$/m);
  });

  it('shows the verdict on the status page as for a model Vigia scores', async () => {
    const page = (await request(observed.app).get('/status').expect(200)).text;
    assert.match(page, /credit-default-observed/);
    assert.match(page, /CRITICAL/);
    assert.match(page, /LIMIT_BAL/);
  });
});
