// Fleet PSI in PromQL against the service's PSI, on loopback: two real `vigia serve`
// replicas (each its own SQLite file, as a fleet without a shared database runs), one real
// Prometheus scraping both every second with prometheus/rules/fleet.rules.yml as committed.
// Traffic is split between the replicas; the rule's 1 h PSI per feature must equal the PSI
// that the service's own function (src/drift/psi.ts) gives on the same frozen bins for the
// union of the two windows (each replica's report gives its bins' counts).
//
// Tolerance: 1e-9 everywhere. A `sum` of the counters at one instant gives the same counts,
// hence the same PSI up to float summation order. The recording rules use `increase()`,
// which extrapolates each replica's counts by a factor of its own (its scrapes lie at its
// own phase), so the replicas' counts are summed with one weight per replica; the test
// measures those weights at one instant and checks the rule against the service's PSI on
// the counts so weighted. The bin shares of one replica are unaffected (all its series
// share one factor), so with one replica the rule equals the service exactly. (An earlier
// form of this test allowed 2 % + 0.002 against the unweighted PSI and failed on a loaded
// host, where scrapes drift and the weights differ more.)
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { psi } from '../../src/drift/psi.js';
import { ROOT, tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';
import { RULES_DIR } from '../helpers/rules.js';
import { freePort, promQuery, startDaemon, waitFor, type Daemon } from '../helpers/stack.js';
import { requireTool } from '../helpers/tools.js';

const MODEL = 'credit-default';
const ROWS = demoRows(1200).map((r, i) => ({ ...r, LIMIT_BAL: i % 3 === 0 ? r['LIMIT_BAL']! * 3 : r['LIMIT_BAL']! }));

interface Report { n: number; features: { feature: string; psi: number | null; bins: { labels: string[]; reference_share: number[]; current_share: number[] } }[] }

describe('fleet PSI in PromQL (two replicas, real Prometheus)', () => {
  const tmp = tempDir();
  let replicas: VigiaProcess[] = [];
  let prometheus: Daemon | undefined;

  before(async () => {
    const prometheusBin = requireTool('prometheus');
    for (const name of ['a', 'b']) {
      replicas.push(await startVigia({ VIGIA_DB: join(tmp.dir, `${name}.db`), VIGIA_EVAL_INTERVAL: '0s', VIGIA_LOG_LEVEL: 'warn', VIGIA_DB_SYNCHRONOUS: 'NORMAL' }));
    }
    mkdirSync(join(tmp.dir, 'rules'));
    copyFileSync(join(RULES_DIR, 'fleet.rules.yml'), join(tmp.dir, 'rules', 'fleet.rules.yml'));
    const config = parse(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as { global: Record<string, string>; rule_files: string[]; alerting?: unknown; scrape_configs: { static_configs: { targets: string[] }[] }[] };
    config.global['scrape_interval'] = '1s';
    config.global['evaluation_interval'] = '1s';
    config.rule_files = [join(tmp.dir, 'rules', 'fleet.rules.yml')];
    delete config.alerting;
    config.scrape_configs[0]!.static_configs = [{ targets: replicas.map((r) => new URL(r.url).host) }];
    writeFileSync(join(tmp.dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    prometheus = await startDaemon(prometheusBin, [`--config.file=${join(tmp.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], `http://127.0.0.1:${port}`, '/-/ready');
    // Both replicas scraped at 0 (every bin pre-initialised) before any traffic.
    await waitFor('both replicas scraped', 30_000, async () => ((await promQuery(prometheus!.url, 'count(count by (instance) (vigia_feature_bin_predictions_total))')).data?.result[0]?.value[1] === '2' ? true : undefined));
    await new Promise((r) => setTimeout(r, 2500));
    // Traffic split unevenly: batches and single rows, two thirds to a, a third to b.
    for (let i = 0; i < ROWS.length; i += 100) {
      const target = replicas[(i / 100) % 3 === 2 ? 1 : 0]!;
      const res = await fetch(`${target.url}/v1/models/${MODEL}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: ROWS.slice(i, i + 100) }) });
      assert.equal(res.status, 200);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Every count scraped, and a few more scrapes of the final values.
    await waitFor('Prometheus to scrape every prediction', 30_000, async () => ((await promQuery(prometheus!.url, `sum(vigia_feature_bin_predictions_total{feature="AGE"})`)).data?.result[0]?.value[1] === String(ROWS.length) ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000));
  });
  after(async () => {
    await prometheus?.stop();
    for (const r of replicas) {
      r.proc.kill('SIGTERM');
      await r.exited;
    }
    replicas = [];
    tmp.remove();
  });

  /** Each replica's report, keyed by the instance label Prometheus gives it. */
  async function reports(): Promise<Map<string, Report>> {
    const out = new Map<string, Report>();
    for (const r of replicas) out.set(new URL(r.url).host, (await (await fetch(`${r.url}/v1/models/${MODEL}/report?refresh=true`)).json()) as Report);
    assert.equal([...out.values()].reduce((s, r) => s + r.n, 0), ROWS.length);
    return out;
  }

  /** PSI per feature of the replicas' bin counts summed with a weight per replica (1 for the counts as they are). */
  function weightedPsi(byInstance: Map<string, Report>, weight: (instance: string) => number): Map<string, number> {
    const out = new Map<string, number>();
    const first = [...byInstance.values()][0]!;
    for (const f of first.features) {
      const counts = f.bins.labels.map((_, i) => [...byInstance].reduce((s, [instance, r]) => s + weight(instance) * Math.round(r.features.find((g) => g.feature === f.feature)!.bins.current_share[i]! * r.n), 0));
      out.set(f.feature, psi(f.bins.reference_share, counts));
    }
    return out;
  }

  async function promPsi(expr: string, time?: number): Promise<Map<string, number>> {
    const r = await promQuery(prometheus!.url, expr, time);
    assert.equal(r.status, 'success', r.error);
    return new Map(r.data!.result.filter((s) => s.metric['model'] === MODEL).map((s) => [s.metric['feature']!, Number(s.value[1])]));
  }

  /** A recording rule's expression from fleet.rules.yml, with the recorded series it reads replaced by their own expressions. */
  function ruleExpr(record: string): string {
    const rules = (parse(readFileSync(join(RULES_DIR, 'fleet.rules.yml'), 'utf8')) as { groups: { rules: { record: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    const byName = new Map(rules.map((r) => [r.record, r.expr]));
    let expr = byName.get(record)!;
    for (const [name, e] of byName) if (name !== record) expr = expr.split(name).join(`(${e})`);
    return expr;
  }

  it('gives the service\'s PSI from the counters summed over the replicas at one instant, to 1e-9', async () => {
    const service = weightedPsi(await reports(), () => 1);
    const eps = 0.0001;
    const cur = 'sum by (model, version, feature, bin) (vigia_feature_bin_predictions_total) / on (model, version, feature) group_left() sum by (model, version, feature) (vigia_feature_bin_predictions_total)';
    const ref = 'max by (model, version, feature, bin) (vigia_feature_bin_reference_ratio)';
    const fleet = await promPsi(`sum by (model, version, feature) ((clamp_min(${cur}, ${eps}) - on (model, version, feature, bin) clamp_min(${ref}, ${eps})) * on (model, version, feature, bin) ln(clamp_min(${cur}, ${eps}) / on (model, version, feature, bin) clamp_min(${ref}, ${eps})))`);
    assert.equal(fleet.size, service.size);
    for (const [feature, p] of service) assert.ok(Math.abs(fleet.get(feature)! - p) < 1e-9, `${feature}: PromQL ${fleet.get(feature)} vs service ${p}`);
    assert.ok(service.get('LIMIT_BAL')! > 0.1, 'the shifted feature drifts');
  });

  // increase() extrapolates each replica's counts to the edge of the 1 h range by a factor of
  // its own (its last scrape lies at its own phase; the first is 0, so nothing is added
  // before it). The rule therefore sums the replicas' counts with one weight per replica:
  // measured here at one instant, the service's PSI on counts so weighted equals the rule's.
  it('gives the service\'s PSI, with each replica weighted by its increase() extrapolation, from the 1 h and 1 d rules (to 1e-9)', async () => {
    const byInstance = await reports();
    const at = Math.floor(Date.now() / 1000) - 1;
    const increases = await promQuery(prometheus!.url, `sum by (instance) (increase(vigia_feature_bin_predictions_total{model="${MODEL}",feature="AGE"}[1h]))`, at);
    const factor = new Map(increases.data!.result.map((s) => [s.metric['instance']!, Number(s.value[1]) / byInstance.get(s.metric['instance']!)!.n]));
    assert.equal(factor.size, replicas.length);
    for (const [instance, f] of factor) assert.ok(f >= 1 && f < 2, `${instance}: extrapolation factor ${f}`);
    const expected = weightedPsi(byInstance, (instance) => factor.get(instance)!);
    for (const [record, window] of [['model_feature:vigia_feature_bin_predictions:psi1h', '1h'], ['model_feature:vigia_feature_bin_predictions:psi1d', '1d']] as const) {
      const got = await promPsi(ruleExpr(record), at);
      assert.equal(got.size, expected.size, record);
      // The 1 d rule's range starts 1 d back, the 1 h rule's 1 h back: both before the first scrape, so the same weights.
      for (const [feature, p] of expected) assert.ok(Math.abs(got.get(feature)! - p) < 1e-9, `${window} ${feature}: rule ${got.get(feature)} vs weighted service ${p} (factors ${JSON.stringify([...factor])})`);
    }
    const unweighted = weightedPsi(byInstance, () => 1);
    assert.ok(Math.abs(expected.get('LIMIT_BAL')! - unweighted.get('LIMIT_BAL')!) < 0.1 * unweighted.get('LIMIT_BAL')!, 'the weights move the shifted feature\'s PSI by less than 10 %');
  });

  // The recorded series themselves: the rules' expressions are checked above at one instant;
  // a recorded value cannot be compared with its expression re-evaluated at its timestamp,
  // because a scrape stamped before that instant may be appended after the rule ran.
  it('exports one fleet PSI series per feature, whatever the replica count', async () => {
    await waitFor('the 1 h fleet PSI rule', 20_000, async () => ((await promQuery(prometheus!.url, `count(model_feature:vigia_feature_bin_predictions:psi1h{model="${MODEL}"})`)).data?.result[0] ? true : undefined));
    const r = await promQuery(prometheus!.url, `count by (feature) (model_feature:vigia_feature_bin_predictions:psi1h{model="${MODEL}"})`);
    assert.ok(r.data!.result.length > 20);
    assert.ok(r.data!.result.every((s) => s.value[1] === '1'));
  });
});
