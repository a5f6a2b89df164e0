import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from './app.js';
import { alertRules, ruleFileNames, RULES_DIR } from './rules.js';

/** Every `for:` of the rule files in the stack tests (the committed durations are minutes to hours; promtool tests each real one). */
const SHORT_FOR = 'for: 3s';

/** The committed rule files with every `for:` shortened; fails if one is left as it was. */
export function shortenedRules(dir: string): string[] {
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

/**
 * The committed Prometheus configuration as the stack tests run it: the given targets on
 * loopback, scrape and evaluation every 1 s, the given Alertmanager (or none).
 */
export function prometheusConfig(services: readonly string[], alertmanager: string | undefined, ruleFiles: string[]): string {
  const c = parse(readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as PromConfig;
  c.global['scrape_interval'] = '1s';
  c.global['evaluation_interval'] = '1s';
  c.global.external_labels['vigia_external_url'] = `http://${services[0]}`;
  c.rule_files = ruleFiles;
  if (alertmanager === undefined) delete (c as Partial<PromConfig>).alerting;
  else c.alerting.alertmanagers[0]!.static_configs = [{ targets: [alertmanager] }];
  assert.deepEqual(c.scrape_configs.map((s) => s.job_name), ['vigia']);
  c.scrape_configs[0]!.static_configs = [{ targets: [...services] }];
  return stringify(c);
}

