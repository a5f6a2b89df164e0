import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/app.js';
import { requireTool } from '../helpers/tools.js';

const CONFIG = join(ROOT, 'alertmanager', 'alertmanager.yml');

/** The receiver `amtool config routes test` picks for an alert with these labels. */
function routeOf(labels: Record<string, string>): string {
  const args = ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const r = spawnSync(requireTool('amtool'), args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout.trim();
}

interface Receiver { name: string; pagerduty_configs?: unknown[]; slack_configs?: unknown[]; email_configs?: unknown[] }
interface AlertmanagerConfig {
  route: { group_by: string[]; routes: { matchers: string[]; group_by?: string[] }[] };
  receivers: Receiver[];
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
}
const config = parse(readFileSync(CONFIG, 'utf8')) as AlertmanagerConfig;

describe('Alertmanager configuration', () => {
  it('passes amtool check-config', () => {
    const r = spawnSync(requireTool('amtool'), ['check-config', CONFIG], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('routes critical alerts to the critical receiver, warning to warning, info and unlabelled ones to null', () => {
    const alert = { alertname: 'VigiaFeaturePsiCritical', model: 'credit-default', feature: 'LIMIT_BAL' };
    assert.equal(routeOf({ ...alert, severity: 'critical' }), 'critical');
    assert.equal(routeOf({ ...alert, severity: 'warning' }), 'warning');
    assert.equal(routeOf({ ...alert, severity: 'info' }), 'null');
    assert.equal(routeOf(alert), 'null');
  });

  it('pages PagerDuty, Slack and e-mail on critical, posts warnings to Slack, and sends nothing for null', () => {
    const byName = new Map(config.receivers.map((r) => [r.name, r]));
    const kinds = (name: string) => Object.keys(byName.get(name) ?? {}).filter((k) => k.endsWith('_configs')).sort();
    assert.deepEqual(kinds('critical'), ['email_configs', 'pagerduty_configs', 'slack_configs']);
    assert.deepEqual(kinds('warning'), ['slack_configs']);
    assert.deepEqual(kinds('null'), []);
  });

  it('groups by alert name and model, and lets a critical alert inhibit the warning of the same signal, model, version and feature', () => {
    assert.deepEqual(config.route.group_by, ['alertname', 'model']);
    assert.deepEqual(config.inhibit_rules[0], { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['signal', 'model', 'version', 'feature'] });
  });

  it('groups one feature\'s drift alerts (PSI, KS, chi-square) by feature, routed by severity as the rest, and lets its critical inhibit its other warnings', () => {
    const featureRoute = config.route.routes[0]!;
    assert.deepEqual(featureRoute.matchers, ['signal=~"feature_(psi|ks|chi2)"']);
    assert.deepEqual(featureRoute.group_by, ['model', 'version', 'feature']);
    for (const signal of ['feature_psi', 'feature_ks', 'feature_chi2']) {
      const alert = { alertname: 'VigiaFeatureX', model: 'credit-default', feature: 'LIMIT_BAL', signal };
      assert.equal(routeOf({ ...alert, severity: 'critical' }), 'critical');
      assert.equal(routeOf({ ...alert, severity: 'warning' }), 'warning');
    }
    assert.deepEqual(config.inhibit_rules[1], {
      source_matchers: ['severity="critical"', 'signal=~"feature_(psi|ks|chi2)"'],
      target_matchers: ['severity="warning"', 'signal=~"feature_(psi|ks|chi2)"'],
      equal: ['model', 'version', 'feature'],
    });
  });

  it('reads every secret from a file and holds none itself', () => {
    const text = readFileSync(CONFIG, 'utf8');
    for (const key of ['routing_key_file', 'slack_api_url_file', 'smtp_auth_password_file']) assert.match(text, new RegExp(`${key}: /etc/alertmanager/secrets/`), key);
    assert.doesNotMatch(text, /\b(routing_key|service_key|api_url|smtp_auth_password|auth_password):/);
    assert.doesNotMatch(text, /hooks\.slack\.com/);
  });
});
