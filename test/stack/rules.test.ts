import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/app.js';
import { SERVICE_LIMITS } from '../../src/report/limits.js';
import { docExists, readDoc, runbookTarget } from '../helpers/docs.js';
import { alertRules, markdownAnchors, metricNames, PROMETHEUS_DIR, recordingRules, RULE_TESTS_DIR, RULES_DIR, ruleFileNames } from '../helpers/rules.js';
import { requireTool } from '../helpers/tools.js';

const alertsDoc = readDoc('alerts.md');

interface RuleTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[]; promql_expr_test?: { expr: string }[] }[];
}
const testFileOf = (ruleFile: string) => ruleFile.replace(/\.rules\.yml$/, '.test.yml');
const readTestFile = (name: string) => parse(readFileSync(join(RULE_TESTS_DIR, name), 'utf8')) as RuleTestFile;

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(requireTool('promtool'), args, { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('Prometheus configuration and rules', () => {
  it('passes promtool check config, which also loads every rule file it names', () => {
    const r = promtool(['check', 'config', join(PROMETHEUS_DIR, 'prometheus.yml')]);
    assert.equal(r.status, 0, r.output);
    for (const file of ruleFileNames()) assert.match(r.output, new RegExp(`${file}`), `prometheus.yml does not load ${file}`);
  });

  it('passes promtool check rules on every rule file, with no lint finding', () => {
    const r = promtool(['check', 'rules', ...ruleFileNames().map((f) => join(RULES_DIR, f))]);
    assert.equal(r.status, 0, r.output);
    assert.doesNotMatch(r.output, /WARNING|Failed/, r.output);
  });

  it('has one promtool test file per rule file, each loading its own rule file', () => {
    const tests = readdirSync(RULE_TESTS_DIR).filter((f) => f.endsWith('.test.yml')).sort();
    assert.deepEqual(tests, ruleFileNames().map(testFileOf));
    for (const file of ruleFileNames()) assert.deepEqual(readTestFile(testFileOf(file)).rule_files, [`../rules/${file}`]);
  });

  it('passes every promtool rule test', () => {
    const r = promtool(['test', 'rules', ...ruleFileNames().map((f) => join(RULE_TESTS_DIR, testFileOf(f)))]);
    assert.equal(r.status, 0, r.output);
  });

  it('tests every alert firing and silent, and every recording rule, in the test file of its rule file', () => {
    for (const file of ruleFileNames()) {
      const cases = readTestFile(testFileOf(file)).tests;
      const alertCases = cases.flatMap((t) => t.alert_rule_test ?? []);
      const exprs = cases.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr);
      for (const a of alertRules([file])) {
        const mine = alertCases.filter((c) => c.alertname === a.alert);
        assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${a.alert}: no case where it fires`);
        assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${a.alert}: no case where it is silent`);
      }
      for (const r of recordingRules([file])) {
        assert.ok(exprs.some((e) => metricNames(e).includes(r.record)), `${r.record}: no promql_expr_test reads it`);
      }
    }
  });

  it('names alerts Vigia… in CamelCase with a severity, a signal, a summary, a templated description and a runbook_url', () => {
    const alerts = alertRules();
    assert.ok(alerts.length >= 30, `only ${alerts.length} alerts`);
    assert.equal(new Set(alerts.map((a) => a.alert)).size, alerts.length, 'an alert name is used twice');
    for (const a of alerts) {
      assert.match(a.alert, /^Vigia(?:[A-Z][a-z0-9]*)+$/, a.alert);
      assert.ok(['critical', 'warning', 'info'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity ${a.labels?.['severity']}`);
      assert.match(a.labels?.['signal'] ?? '', /^[a-z][a-z0-9_]*$/, `${a.alert}: signal`);
      assert.ok((a.annotations?.['summary'] ?? '').length > 10, `${a.alert}: summary`);
      assert.doesNotMatch(a.annotations?.['summary'] ?? '', /\{\{/, `${a.alert}: the summary is static`);
      // VigiaTargetDown is a state (up == 0): its value says nothing the description does not.
      if (a.alert !== 'VigiaTargetDown') assert.match(a.annotations?.['description'] ?? '', /\$value/, `${a.alert}: the description shows the value`);
      assert.match(a.annotations?.['description'] ?? '', /\$labels\.(model|job|instance)/, `${a.alert}: the description names what it is about`);
      if (metricNames(a.expr).some((n) => n.startsWith('vigia_feature_'))) {
        assert.match(a.annotations?.['description'] ?? '', /\$labels\.feature/, `${a.alert}: the description names the feature`);
      }
      assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: for`);
    }
  });

  it('links every runbook_url, under the external base URL, to a section of a docs file named after its alert', () => {
    for (const a of alertRules()) {
      const url = a.annotations?.['runbook_url'] ?? '';
      const target = runbookTarget(url);
      assert.ok(target, `${a.alert}: runbook_url ${url} is not {{ $externalLabels.vigia_external_url }}/docs/<file>#<anchor>`);
      assert.equal(target.anchor, a.alert.toLowerCase(), `${a.alert}: the anchor is the alert's name`);
      assert.ok(docExists(target.file), `${a.alert}: docs/${target.file} does not exist`);
      assert.ok(markdownAnchors(readDoc(target.file)).has(target.anchor), `docs/${target.file} has no section ${a.alert}`);
    }
  });

  it('lists every alert in the alert table of docs/alerts.md with its severity, for and runbook link', () => {
    for (const a of alertRules()) {
      const row = `| \`${a.alert}\` | ${a.labels?.['severity']} | ${a.for} | [runbook](#${a.alert.toLowerCase()}) |`;
      assert.ok(alertsDoc.includes(row), `docs/alerts.md lacks the row ${row}`);
    }
  });

  it('fires the service alerts at the limits the status page and the weekly report show (SERVICE_LIMITS)', () => {
    const S = SERVICE_LIMITS;
    const edges: Record<string, RegExp> = {
      VigiaLatencyP50High: new RegExp(`\\{quantile="0\\.5"\\} > ${S.latencyWarningMs.p50 / 1000}$`),
      VigiaLatencyP95High: new RegExp(`\\{quantile="0\\.95"\\} > ${S.latencyWarningMs.p95 / 1000}$`),
      VigiaLatencyP95Critical: new RegExp(`\\{quantile="0\\.95"\\} > ${S.latencyCriticalMs.p95 / 1000}$`),
      VigiaLatencyP99Critical: new RegExp(`\\{quantile="0\\.99"\\} > ${S.latencyCriticalMs.p99 / 1000}$`),
      VigiaHttp4xxRatioHigh: new RegExp(`\\{status_class="4xx"\\} > ${S.ratio4xx.warning}$`),
      VigiaHttp5xxRatioCritical: new RegExp(`\\{status_class="5xx"\\} > ${S.ratio5xx.critical}$`),
      VigiaErrorRatioCritical: new RegExp(`\\) > ${S.errorRatio.critical}$`),
    };
    const rules = alertRules(['service.rules.yml']);
    for (const [alert, edge] of Object.entries(edges)) {
      const rule = rules.find((r) => r.alert === alert);
      assert.ok(rule, `${alert} is not in service.rules.yml`);
      assert.match(rule.expr.trim(), edge, alert);
    }
  });

  it('names recording rules level:metric:operations, after a metric they read', () => {
    for (const r of recordingRules()) {
      const m = /^([a-z_]+):([a-z0-9_]+):([a-z0-9_]+)$/.exec(r.record);
      assert.ok(m, r.record);
      // A rule built on another recording rule is named after that rule's metric.
      const bases = metricNames(r.expr).map((n) => (n.split(':').length === 3 ? n.split(':')[1]! : n).replace(/_(total|bucket)$/, ''));
      assert.ok(bases.some((b) => m[2] === b || m[2]!.startsWith(`${b}_`)), `${r.record}: ${m[2]} is none of ${bases.join(', ')}`);
    }
  });

  it('reads metric names out of PromQL, leaving functions, keywords, labels and durations out', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route=~"/x|y"}[5m]))) > 1e3 and on(instance) group_left() b:c:d offset 5m or vector(0)'),
      ['a_bucket', 'b:c:d'],
    );
  });
});
