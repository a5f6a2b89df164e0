import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, DEMO_MODELS, tempDir, type TestApp } from '../helpers/app.js';
import { demoLabelledRows } from '../helpers/demo-rows.js';

const MODEL = 'credit-default';
const KEY = `${MODEL}@1.0.0`;

/** Scores labelled rows in batches (with their monitoring attributes, if given) and sends their labels. */
async function scoreAndLabel(t: TestApp, rows: { features: Record<string, number>; label: 0 | 1 }[], monitoring?: (i: number) => Record<string, string>): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const slice = rows.slice(i, i + 500);
    const body = { instances: slice.map((r) => r.features), ...(monitoring === undefined ? {} : { monitoring: slice.map((_r, j) => monitoring(i + j)) }) };
    const res = await request(t.app).post('/predict').send(body).expect(200);
    ids.push(...(res.body.predictions as { prediction_id: string }[]).map((p) => p.prediction_id));
  }
  await request(t.app).post('/v1/labels').send({ labels: ids.map((id, i) => ({ prediction_id: id, label: rows[i]!.label })) }).expect(200);
}

const gauge = async (t: TestApp, name: string, labels: string): Promise<number | undefined> => {
  const text = await t.metricsRegistry.metrics();
  const m = new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
};

describe('fairness by group, end to end', () => {
  describe('on the demo model and its own traffic', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp({ drift: true, labelDelayMs: 0 });
      await scoreAndLabel(t, demoLabelledRows(600));
    });
    after(() => t.close());

    it('reports every attribute of the manifest with no warning, and small groups as insufficient data', async () => {
      const r = await t.monitor!.evaluate(KEY);
      const f = r.fairness!;
      assert.deepEqual(f.attributes.map((a) => a.attribute), ['SEX', 'EDUCATION', 'MARRIAGE', 'AGE_BAND']);
      assert.deepEqual(f.warnings, []);
      const education = f.attributes.find((a) => a.attribute === 'EDUCATION')!;
      const small = education.groups.find((g) => g.group === '3')!;
      assert.ok(small.n > 0 && small.n < 100, `EDUCATION=3 has ${small.n} rows`);
      assert.equal(small.status, 'insufficient_data');
      assert.equal(small.adverse_impact_ratio, null);
      const sex = f.attributes.find((a) => a.attribute === 'SEX')!;
      assert.equal(sex.groups.reduce((s, g) => s + g.n, 0), 600);
    });

    it('exports the gauges with bounded labels, NaN below the minimum group size, and the thresholds', async () => {
      await t.monitor!.evaluate(KEY);
      const ratio = await gauge(t, 'vigia_group_adverse_impact_ratio', `model="${MODEL}",version="1.0.0",attribute="SEX",group="1"`);
      assert.ok(ratio !== undefined && ratio > 0.8 && ratio < 1.25, `SEX=1 ratio ${ratio}`);
      assert.ok(Number.isNaN(await gauge(t, 'vigia_group_selection_rate', `model="${MODEL}",version="1.0.0",attribute="EDUCATION",group="3"`)));
      assert.equal(await gauge(t, 'vigia_group_window_predictions', `model="${MODEL}",version="1.0.0",attribute="AGE_BAND",group="missing"`), 0);
      assert.equal(await gauge(t, 'vigia_threshold', `model="${MODEL}",version="1.0.0",signal="adverse_impact_ratio_min",severity="warning"`), 0.8);
      assert.equal(await gauge(t, 'vigia_threshold', `model="${MODEL}",version="1.0.0",signal="min_group_size",severity="guard"`), 100);
      const text = await t.metricsRegistry.metrics();
      const groups = new Set([...text.matchAll(/^vigia_group_selection_rate\{[^}]*group="([^"]*)"/gm)].map((m) => m[1]));
      assert.ok(groups.size <= 32, `${groups.size} group labels`);
    });

    it('shows a fairness section on the status page, small groups without a verdict', async () => {
      const html = (await request(t.app).get(`/status?model=${MODEL}&refresh=true`).expect(200)).text;
      assert.match(html, /<section id="fairness"><h2>Fairness by group<\/h2>/);
      assert.match(html, /It is a screen, not a legal test\./);
      assert.match(html, /<tr class="tone-ok" data-attribute="SEX" data-group="2"><td>SEX<\/td><td class="text">2 \(reference\)<\/td>/);
      assert.match(html, /<tr class="tone-unknown" data-attribute="EDUCATION" data-group="3">.*?too few rows<\/td><\/tr>/);
      assert.match(html, /No group is flagged\./);
    });

    it('records each row\'s groups and the bundle\'s content hash in the audit log', () => {
      const row = t.db.prepare('SELECT groups, bundle_hash, monitoring FROM predictions ORDER BY seq LIMIT 1').get() as { groups: string; bundle_hash: string; monitoring: string | null };
      assert.deepEqual(Object.keys(JSON.parse(row.groups)), ['SEX', 'EDUCATION', 'MARRIAGE', 'AGE_BAND']);
      assert.equal(row.bundle_hash, t.registry.get(MODEL)!.contentHash);
      assert.match(row.bundle_hash, /^[0-9a-f]{64}$/);
      assert.equal(row.monitoring, null);
    });
  });

  describe('with an attribute the caller sends only for monitoring', () => {
    const tmp = tempDir('vigia-fairness-');
    let t: TestApp;
    before(async () => {
      const dir = join(tmp.dir, 'models', MODEL);
      mkdirSync(dir, { recursive: true });
      for (const f of ['model.onnx', 'reference.csv', 'calibration.csv', 'training.json']) symlinkSync(join(DEMO_MODELS, MODEL, f), join(dir, f));
      const manifest = JSON.parse(readFileSync(join(DEMO_MODELS, MODEL, 'vigia.json'), 'utf8')) as { fairness: { attributes: unknown[] } };
      manifest.fairness.attributes.push({ name: 'channel', monitoring: true, values: ['app', 'branch'], reference: 'app' });
      writeFileSync(join(dir, 'vigia.json'), JSON.stringify(manifest));
      t = await buildTestApp({ modelsDir: join(tmp.dir, 'models'), drift: true, labelDelayMs: 0 });
    });
    after(async () => {
      await t.close();
      tmp.remove();
    });

    it('refuses a prediction without it, or with a value outside its list, naming the field and the value', async () => {
      const features = demoLabelledRows(1)[0]!.features;
      let res = await request(t.app).post('/predict').send({ features });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.error, { code: 'missing_attribute', message: 'monitoring is missing: this model needs the monitoring attribute(s) channel beside the features', field: 'monitoring' });
      res = await request(t.app).post('/predict').send({ features, monitoring: {} });
      assert.deepEqual(res.body.error, { code: 'missing_attribute', message: 'monitoring.channel is missing', field: 'monitoring.channel' });
      res = await request(t.app).post('/predict').send({ features, monitoring: { channel: 'phone' } });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.error, { code: 'invalid_attribute', message: 'monitoring.channel must be one of "app", "branch", got "phone"', field: 'monitoring.channel' });
      res = await request(t.app).post('/predict').send({ features, monitoring: { channel: 'app', SEX: 'x' } });
      assert.equal(res.body.error.field, 'monitoring.SEX');
      res = await request(t.app).post('/predict').send({ instances: [features, features], monitoring: [{ channel: 'app' }] });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.field, 'monitoring');
    });

    it('stores it beside the features, never among them', async () => {
      const features = demoLabelledRows(1)[0]!.features;
      const res = await request(t.app).post('/predict').send({ features, monitoring: { channel: 'branch' } }).expect(200);
      const row = t.db.prepare('SELECT features, monitoring, groups FROM predictions WHERE id = ?').get(res.body.prediction_id) as { features: string; monitoring: string; groups: string };
      assert.deepEqual(JSON.parse(row.monitoring), { channel: 'branch' });
      assert.equal('channel' in JSON.parse(row.features), false);
      assert.equal(JSON.parse(row.groups).channel, 'branch');
    });

    it('warns when one channel is refused far more often: a simulated disparity', async () => {
      // The riskiest rows go through the branch, the rest through the app: the branch's
      // favorable rate (decision 0) falls far below the app's.
      const rows = demoLabelledRows(2000);
      const scored = await request(t.app).post(`/v1/models/${MODEL}/predict`).send({ instances: rows.slice(0, 1000).map((r) => r.features), monitoring: rows.slice(0, 1000).map(() => ({ channel: 'app' })) }).expect(200);
      const risky = new Set((scored.body.predictions as { decision: number }[]).flatMap((p, i) => (p.decision === 1 ? [i] : [])));
      await scoreAndLabel(t, rows.slice(0, 1000), (i) => ({ channel: risky.has(i) && i % 3 !== 0 ? 'branch' : 'app' }));
      const r = await t.monitor!.evaluate(KEY);
      const channel = r.fairness!.attributes.find((a) => a.attribute === 'channel')!;
      const branch = channel.groups.find((g) => g.group === 'branch')!;
      assert.equal(branch.status, 'warning');
      assert.ok(branch.adverse_impact_ratio! < 0.8, `ratio ${branch.adverse_impact_ratio}`);
      assert.match(channel.warnings.join('\n'), /channel=branch: adverse impact ratio/);
      const exported = await gauge(t, 'vigia_group_adverse_impact_ratio', `model="${MODEL}",version="1.0.0",attribute="channel",group="branch"`);
      assert.ok(exported !== undefined && exported < 0.8);
    });
  });

  describe('on a window evaluated from its hourly aggregates', () => {
    let exact: TestApp;
    let aggregated: TestApp;
    before(async () => {
      // The same 600 rows: one service evaluates them from the rows, the other (one row
      // over its limit) from the aggregates, whose buckets count the groups as they fold.
      exact = await buildTestApp({ drift: true, labelDelayMs: 0, exactWindowRows: 600 });
      aggregated = await buildTestApp({ drift: true, labelDelayMs: 0, exactWindowRows: 599 });
      const rows = demoLabelledRows(600);
      await scoreAndLabel(exact, rows);
      await scoreAndLabel(aggregated, rows);
    });
    after(async () => {
      await exact.close();
      await aggregated.close();
    });

    it('counts every group of the window from the buckets exactly as the GROUP BY over the rows does', async () => {
      const fromRows = await exact.monitor!.evaluate(KEY);
      const fromBuckets = await aggregated.monitor!.evaluate(KEY);
      // The aggregates path states the KS sketch's error; the rows path is exact.
      const sketched = (r: typeof fromRows) => r.features.some((f) => f.ks?.statistic_error !== undefined);
      assert.equal(sketched(fromRows), false);
      assert.equal(sketched(fromBuckets), true);
      assert.deepEqual(fromBuckets.fairness, fromRows.fairness);
      const sex = fromBuckets.fairness!.attributes.find((a) => a.attribute === 'SEX')!;
      assert.equal(sex.groups.reduce((n, g) => n + g.n, 0), 600);
      // Rows scored after the first evaluation are folded into their bucket's counts.
      await scoreAndLabel(aggregated, demoLabelledRows(650).slice(600));
      const again = await aggregated.monitor!.evaluate(KEY);
      assert.equal(again.fairness!.attributes.find((a) => a.attribute === 'SEX')!.groups.reduce((n, g) => n + g.n, 0), 650);
    });
  });
});
