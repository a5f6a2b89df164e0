// The monitoring stack end to end, on loopback: the real `vigia serve`, Prometheus and
// Alertmanager from Debian's packages, and a webhook receiver in this process. The tests
// run in order on one stack: stable traffic and the queries first, then the shift.
//
// Configurations are the committed files with only these changes, made here:
//   Prometheus    targets on loopback ports, scrape and evaluation every 1 s, and every
//                 `for:` of the rule files replaced by `for: 3s` (the committed durations
//                 are minutes to hours; promtool tests each real one).
//   Alertmanager  each receiver's integrations become webhooks to /<receiver>/<integration>,
//                 group_wait and group_interval 1 s; the routing tree and the inhibition
//                 are the committed ones.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ROOT, tempDir } from '../helpers/app.js';
import { panelQueries } from '../helpers/dashboards.js';
import { demoLabelledRows, holdoutRows } from '../helpers/demo-rows.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';
import { alertRules, metricNames, recordingRules, ruleFileNames, RULES_DIR } from '../helpers/rules.js';
import { freePort, promQuery, startDaemon, waitFor, webhookReceiver, type Daemon, type Delivery } from '../helpers/stack.js';
import { requireTool } from '../helpers/tools.js';

const MODEL = 'credit-default';
/** Grafana's macros as the queries are run here: 1 s scrapes, an hour of dashboard range. */
const GRAFANA_MACROS: Readonly<Record<string, string>> = { $__rate_interval: '1m', $__interval: '15s', $__range: '1h', $model: MODEL };
const DRIFT_ALERTS = alertRules(['drift.rules.yml']).map((a) => a.alert);
/** Fairness alerts: the demo's own traffic (the stable rows) must not raise them either. */
const FAIRNESS_ALERTS = alertRules(['fairness.rules.yml']).map((a) => a.alert);
/** Business alerts (approval rate, high-risk share): limits from the model's own reference, so stable traffic is inside them. */
const BUSINESS_ALERTS = alertRules(['business.rules.yml']).map((a) => a.alert);
const SHORT_FOR = 'for: 3s';

const ROWS = demoLabelledRows(1200);
const STABLE = ROWS.slice(0, 600);
/** Stable traffic from rows the reference did not use (the held-out split), sent as a trickle. */
const TRICKLE = holdoutRows().slice(0, 240).map((r) => r.features);
/** The second half of the rows with LIMIT_BAL tripled: one feature shifted, the rest as before. */
const SHIFTED = ROWS.slice(600).map((r) => ({ ...r.features, LIMIT_BAL: r.features['LIMIT_BAL']! * 3 }));

const substitute = (expr: string) => Object.entries(GRAFANA_MACROS).reduce((e, [macro, value]) => e.replaceAll(macro, value), expr);

/** The committed rule files with every `for:` shortened; fails if one is left as it was. */
function shortenedRules(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return ruleFileNames().map((file) => {
    const text = readFileSync(join(RULES_DIR, file), 'utf8');
    let changed = 0;
    const short = text.replace(/^(\s+)for: \d+[smh]$/gm, (_m, indent: string) => { changed++; return `${indent}${SHORT_FOR}`; });
    assert.equal(changed, alertRules([file]).length, `${file}: every alert's for: is shortened`);
    writeFileSync(join(dir, file), short);
    return join(dir, file);
  });
}

interface PromConfig {
  global: Record<string, string> & { external_labels: Record<string, string> };
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

function prometheusConfig(service: string, alertmanager: string, ruleFiles: string[]): string {
  const c = parse(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as PromConfig;
  c.global['scrape_interval'] = '1s';
  c.global['evaluation_interval'] = '1s';
  c.global.external_labels['vigia_external_url'] = `http://${service}`;
  c.rule_files = ruleFiles;
  c.alerting.alertmanagers[0]!.static_configs = [{ targets: [alertmanager] }];
  assert.deepEqual(c.scrape_configs.map((s) => s.job_name), ['vigia']);
  c.scrape_configs[0]!.static_configs = [{ targets: [service] }];
  return stringify(c);
}

interface AmConfig {
  route: Record<string, unknown>;
  receivers: Record<string, unknown>[];
}

function alertmanagerConfig(webhook: string): string {
  const c = parse(readFileSync(join(ROOT, 'alertmanager', 'alertmanager.yml'), 'utf8')) as AmConfig;
  c.route['group_wait'] = '1s';
  c.route['group_interval'] = '1s';
  c.receivers = c.receivers.map((r) => {
    const kinds = Object.keys(r).filter((k) => k.endsWith('_configs'));
    if (kinds.length === 0) return r;
    return { name: r['name'], webhook_configs: kinds.map((k) => ({ url: `${webhook}/${String(r['name'])}/${k.replace(/_configs$/, '')}`, send_resolved: false })) };
  });
  return stringify(c);
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe('the monitoring stack, end to end', () => {
  const tmp = tempDir('vigia-stack-');
  let vigia: VigiaProcess;
  let prometheus: Daemon;
  let alertmanager: Daemon;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let exported: Map<string, string>;
  let stableAt = 0;

  const query = (expr: string) => promQuery(prometheus.url, expr);
  const value = async (expr: string): Promise<number | undefined> => {
    const r = await query(expr);
    const v = r.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  };
  const driftDeliveries = (): Delivery[] => hook.deliveries.filter((d) => d.body.alerts.some((a) => DRIFT_ALERTS.includes(a.labels['alertname'] ?? '')));

  before(async () => {
    const prometheusBin = requireTool('prometheus');
    const alertmanagerBin = requireTool('prometheus-alertmanager');
    hook = await webhookReceiver();
    vigia = await startVigia({
      VIGIA_DB: join(tmp.dir, 'vigia.db'), VIGIA_EVAL_INTERVAL: '1s', VIGIA_LABEL_DELAY: '0', VIGIA_LOG_LEVEL: 'warn', VIGIA_DB_SYNCHRONOUS: 'NORMAL',
    });
    const amPort = await freePort();
    writeFileSync(join(tmp.dir, 'alertmanager.yml'), alertmanagerConfig(hook.url));
    alertmanager = await startDaemon(alertmanagerBin, [
      `--config.file=${join(tmp.dir, 'alertmanager.yml')}`, `--storage.path=${join(tmp.dir, 'am')}`,
      `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=',
    ], `http://127.0.0.1:${amPort}`, '/-/ready');
    const promPort = await freePort();
    writeFileSync(join(tmp.dir, 'prometheus.yml'), prometheusConfig(new URL(vigia.url).host, `127.0.0.1:${amPort}`, shortenedRules(join(tmp.dir, 'rules'))));
    prometheus = await startDaemon(prometheusBin, [
      `--config.file=${join(tmp.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp.dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], `http://127.0.0.1:${promPort}`, '/-/ready');

    // What the service exports: the HELP lines of /metrics, with each metric's type.
    const text = await (await fetch(`${vigia.url}/metrics`)).text();
    exported = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));

    // Stable traffic. Single rows first (below min_window, with one rejected input and one
    // unseen category), then one batch, so that the window jumps to 600 rows at once and no
    // evaluation ever judges a small window.
    const ids: string[] = [];
    for (const [i, r] of STABLE.slice(0, 40).entries()) {
      const features = i === 7 ? { ...r.features, EDUCATION: 9 } : r.features;
      const res = await post(`${vigia.url}/predict`, { features });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      ids.push(res.json['prediction_id'] as string);
    }
    assert.equal((await post(`${vigia.url}/predict`, { features: { ...STABLE[0]!.features, AGE: 'old' } })).status, 400);
    const batch = await post(`${vigia.url}/v1/models/${MODEL}/predict`, { instances: STABLE.slice(40).map((r) => r.features) });
    assert.equal(batch.status, 200, JSON.stringify(batch.json));
    for (const p of batch.json['predictions'] as { prediction_id: string }[]) ids.push(p.prediction_id);
    const labels = await post(`${vigia.url}/v1/labels`, { labels: ids.map((id, i) => ({ prediction_id: id, label: STABLE[i]!.label })) });
    assert.equal(labels.status, 200, JSON.stringify(labels.json));

    await waitFor('Prometheus to scrape the evaluation of the 600-row window', 60_000, async () => ((await value(`vigia_drift_window_size{model="${MODEL}"}`)) === 600 ? true : undefined));
    // Then a trickle of held-out rows (rows the reference did not use), one batch a second:
    // rates over time are what the business rules read, and a burst inside one scrape has none.
    for (let i = 0; i < TRICKLE.length; i += 40) {
      const res = await post(`${vigia.url}/predict`, { instances: TRICKLE.slice(i, i + 40) });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      await new Promise((r) => setTimeout(r, 1200));
    }
    await waitFor('the business ratios to be computed over the trickle', 30_000, async () => {
      const approval = await value(`model:vigia_decisions_approved:ratio_rate1h{model="${MODEL}"}`);
      return approval !== undefined && Number.isFinite(approval) ? true : undefined;
    });
    await waitFor(`the evaluation of the ${600 + TRICKLE.length}-row window`, 60_000, async () => ((await value(`vigia_drift_window_size{model="${MODEL}"}`)) === 600 + TRICKLE.length ? true : undefined));
    stableAt = Date.now();
  });

  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    if (vigia !== undefined) {
      vigia.proc.kill('SIGTERM');
      await vigia.exited;
    }
    await hook?.close();
    tmp.remove();
  });

  it('runs every rule expression through Prometheus, on metrics the service exports', async () => {
    const recorded = new Set(recordingRules().map((r) => r.record));
    const rules = [...recordingRules().map((r) => ({ name: r.record, expr: r.expr })), ...alertRules().map((a) => ({ name: a.alert, expr: a.expr }))];
    for (const r of rules) {
      const res = await query(r.expr);
      assert.equal(res.status, 'success', `${r.name}: ${res.error}`);
      for (const name of metricNames(r.expr)) assert.ok(knownMetric(name, recorded), `${r.name} reads ${name}, which the service does not export`);
    }
  });

  it('answers every dashboard panel query with data from the service', async () => {
    const recorded = new Set(recordingRules().map((r) => r.record));
    const queries = panelQueries();
    assert.ok(queries.length > 50, `only ${queries.length} queries`);
    for (const q of queries) {
      for (const name of metricNames(substitute(q.expr))) assert.ok(knownMetric(name, recorded), `${q.dashboard} / ${q.panel}: ${name} is not exported`);
    }
    // Rates need two scrapes and the performance gauges one evaluation after the labels:
    // poll until every query answers, then name the ones that never did.
    let empty: string[] = [];
    await waitFor('every panel query to return data', 30_000, async () => {
      empty = [];
      for (const q of queries) {
        const res = await query(substitute(q.expr));
        assert.equal(res.status, 'success', `${q.dashboard} / ${q.panel} / ${q.refId}: ${res.error}`);
        if ((res.data?.result.length ?? 0) === 0) empty.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`);
      }
      return empty.length === 0 ? true : undefined;
    }, () => `no data:\n${empty.join('\n')}`);
    const variable = await query('count by (model) (vigia_model_info)');
    assert.deepEqual(variable.data?.result.map((r) => r.metric['model']), [MODEL], 'the model variable (label_values(vigia_model_info, model))');
  });

  it('lets no drift, fairness or business alert even go pending on stable traffic, and sends none to Alertmanager', async () => {
    // Long enough for an alert on the full window to pass its 3 s `for` and Alertmanager's 1 s group_wait.
    await new Promise((r) => setTimeout(r, Math.max(0, stableAt + 12_000 - Date.now())));
    const seen = await query(`count_over_time(ALERTS{alertname=~"${[...DRIFT_ALERTS, ...FAIRNESS_ALERTS].join('|')}"}[10m])`);
    assert.equal(seen.status, 'success');
    assert.deepEqual(seen.data?.result.map((r) => r.metric), [], 'drift or fairness alerts were pending or firing on stable traffic');
    assert.deepEqual(driftDeliveries(), []);
    assert.deepEqual(hook.deliveries.filter((d) => d.body.alerts.some((a) => FAIRNESS_ALERTS.includes(a.labels['alertname'] ?? ''))), []);
    // The fairness gauges were live: the stable rows' SEX groups are both large enough for a ratio.
    assert.ok((await value(`vigia_group_adverse_impact_ratio{model="${MODEL}",attribute="SEX",group="1"}`)) !== undefined, 'no fairness gauge reached Prometheus');
    const business = await query(`count_over_time(ALERTS{alertname=~"${BUSINESS_ALERTS.join('|')}"}[10m])`);
    assert.equal(business.status, 'success');
    assert.deepEqual(business.data?.result.map((r) => r.metric), [], 'business alerts were pending or firing on the model\'s own stable traffic');
    assert.deepEqual(hook.deliveries.filter((d) => d.body.alerts.some((a) => BUSINESS_ALERTS.includes(a.labels['alertname'] ?? ''))), []);
    // The pipeline was live all along: VigiaLowRequestRate (this test sends far below 5 req/s) got through.
    assert.ok(hook.deliveries.some((d) => d.body.alerts.some((a) => a.labels['alertname'] === 'VigiaLowRequestRate')), 'nothing reached the webhook: the pipeline is not live');
  });

  it('pages the critical PSI alert of the shifted feature through Alertmanager to PagerDuty, Slack and e-mail', async () => {
    const res = await post(`${vigia.url}/v1/models/${MODEL}/predict`, { instances: SHIFTED });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const isPage = (a: { labels: Record<string, string> }) => a.labels['alertname'] === 'VigiaFeaturePsiCritical' && a.labels['feature'] === 'LIMIT_BAL';
    const paths = ['/critical/pagerduty', '/critical/slack', '/critical/email'];
    const pages = await waitFor('VigiaFeaturePsiCritical{feature="LIMIT_BAL"} at the three critical integrations', 60_000, async () => {
      const found = paths.map((p) => hook.deliveries.find((d) => d.path === p && d.body.alerts.some(isPage)));
      return found.every((d) => d !== undefined) ? (found as Delivery[]) : undefined;
    }, () => `deliveries: ${hook.deliveries.map((d) => `${d.path} ${d.body.alerts.map((a) => `${a.labels['alertname']}{${a.labels['feature'] ?? ''}}`).join(',')}`).join('; ')}`);
    const rule = alertRules(['drift.rules.yml']).find((a) => a.alert === 'VigiaFeaturePsiCritical')!;
    for (const page of pages) {
      assert.equal(page.body.receiver, 'critical');
      const alert = page.body.alerts.find(isPage)!;
      assert.equal(alert.status, 'firing');
      assert.deepEqual(alert.labels, {
        alertname: 'VigiaFeaturePsiCritical', severity: 'critical', signal: 'feature_psi',
        model: MODEL, version: '1.0.0', feature: 'LIMIT_BAL', job: 'vigia', instance: new URL(vigia.url).host,
        vigia_external_url: `http://${new URL(vigia.url).host}`,
      });
      assert.equal(alert.annotations['summary'], rule.annotations!['summary']);
      assert.equal(alert.annotations['runbook_url'], `http://${new URL(vigia.url).host}/docs/alerts#vigiafeaturepsicritical`);
      // The link in the notification opens: the service serves the runbook, with the anchor.
      const runbook = await fetch(alert.annotations['runbook_url']!);
      assert.equal(runbook.status, 200);
      assert.match(await runbook.text(), /<h3 id="vigiafeaturepsicritical">/);
      const m = /^credit-default 1\.0\.0: feature LIMIT_BAL has PSI (\d+\.\d{3}) over the drift window, at or above the critical threshold 0\.25\.$/.exec(alert.annotations['description'] ?? '');
      assert.ok(m, alert.annotations['description']);
      assert.ok(Number(m[1]) >= 0.25, m[1]);
    }
    // Only the shifted feature pages for PSI.
    const psiFeatures = new Set(hook.deliveries.flatMap((d) => d.body.alerts).filter((a) => a.labels['alertname'] === 'VigiaFeaturePsiCritical').map((a) => a.labels['feature']));
    assert.deepEqual([...psiFeatures], ['LIMIT_BAL']);
  });

  it('sends one notification per critical channel for the shifted feature, with its PSI and its KS alert in it', async () => {
    const FEATURE_ALERTS = ['VigiaFeaturePsiCritical', 'VigiaFeatureKsCritical'];
    const ofFeature = (d: Delivery) => d.body.alerts.filter((a) => a.labels['feature'] === 'LIMIT_BAL' && a.status === 'firing');
    for (const path of ['/critical/pagerduty', '/critical/slack', '/critical/email']) {
      const both = await waitFor(`one notification at ${path} holding both statistics of LIMIT_BAL`, 30_000, async () =>
        hook.deliveries.find((d) => d.path === path && FEATURE_ALERTS.every((name) => ofFeature(d).some((a) => a.labels['alertname'] === name))),
      () => `deliveries: ${hook.deliveries.filter((d) => d.path === path).map((d) => ofFeature(d).map((a) => a.labels['alertname']).join('+')).join('; ')}`);
      assert.deepEqual(both.body.groupLabels, { model: MODEL, version: '1.0.0', feature: 'LIMIT_BAL' }, 'grouped by the feature, not by the alert name');
      // Every notification about the feature is that one group: no PSI-only or KS-only page of its own.
      for (const d of hook.deliveries.filter((x) => x.path === path && ofFeature(x).length > 0)) {
        assert.deepEqual(d.body.groupLabels, { model: MODEL, version: '1.0.0', feature: 'LIMIT_BAL' });
      }
    }
  });

  it('has Alertmanager inhibit the PSI warning of that feature under its critical', async () => {
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const warning = await waitFor('VigiaFeaturePsiWarning{feature="LIMIT_BAL"} to be inhibited', 20_000, async () => {
      const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=alertname%3D%22VigiaFeaturePsiWarning%22`)).json()) as AmAlert[];
      const w = alerts.find((a) => a.labels['feature'] === 'LIMIT_BAL');
      return w !== undefined && w.status.inhibitedBy.length > 0 ? w : undefined;
    });
    assert.equal(warning.status.state, 'suppressed');
    // Any other warning of the feature (a KS warning beside the PSI critical) is held back too.
    const all = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=feature%3D%22LIMIT_BAL%22&filter=severity%3D%22warning%22`)).json()) as AmAlert[];
    for (const a of all) assert.equal(a.status.state, 'suppressed', `${a.labels['alertname']} is not inhibited`);
  });

  /** A metric name an expression may read: exported by the service, recorded by a rule, or Prometheus' own `up`. */
  function knownMetric(name: string, recorded: Set<string>): boolean {
    if (name.includes(':')) return recorded.has(name);
    if (name === 'up' || exported.has(name)) return true;
    const base = /^(.+)_(bucket|sum|count)$/.exec(name)?.[1];
    return base !== undefined && exported.get(base) === 'histogram';
  }
});
