import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './app.js';

export const PROMETHEUS_DIR = join(ROOT, 'prometheus');
export const RULES_DIR = join(PROMETHEUS_DIR, 'rules');
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, 'tests');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}
interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

/** The rule files Prometheus loads (`rules/*.rules.yml`), by file name. */
export function ruleFileNames(): string[] {
  return readdirSync(RULES_DIR).filter((f) => f.endsWith('.rules.yml')).sort();
}

export function ruleGroups(file: string): RuleGroup[] {
  return (parse(readFileSync(join(RULES_DIR, file), 'utf8')) as { groups: RuleGroup[] }).groups;
}

const isAlert = (r: AlertRule | RecordingRule): r is AlertRule => 'alert' in r;

/** Every alerting rule, with the file it is in. */
export function alertRules(files = ruleFileNames()): (AlertRule & { file: string })[] {
  return files.flatMap((file) => ruleGroups(file).flatMap((g) => g.rules.filter(isAlert).map((r) => ({ ...r, file }))));
}

/** Every recording rule, with the file it is in. */
export function recordingRules(files = ruleFileNames()): (RecordingRule & { file: string })[] {
  return files.flatMap((file) => ruleGroups(file).flatMap((g) => g.rules.filter((r): r is RecordingRule => !isAlert(r)).map((r) => ({ ...r, file }))));
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads. Strings, label matchers, ranges and the
 * label lists of by/without/on/ignoring/group_* are removed first; what remains that is an
 * identifier and not a function call or a keyword is a metric name.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names].sort();
}

/** The anchors GitHub gives the headings of a Markdown file (lower case, punctuation dropped, spaces as hyphens). */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-'));
  }
  return anchors;
}
