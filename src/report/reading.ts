import type { Status } from '../drift/evaluate.js';
import type { Diagnosis } from '../drift/diagnosis.js';
import type { Severity } from '../drift/severity.js';
import { change, count, fixed, millis, percent, pvalue, span, when } from './format.js';
import { SERVICE_LIMITS, type ReportLimits, type ServedReport } from './limits.js';
import { readFairness, type FairnessReading } from './fairness-reading.js';

/**
 * A report read for people: the key figures against their limits, the feature table, the
 * plain-language explanation, the performance section and the next steps. Pure; the status
 * page and the weekly report both render it, so they always say the same thing.
 */

export type Tone = 'ok' | 'warning' | 'critical' | 'unknown';

export interface Figure {
  readonly label: string;
  readonly value: string;
  readonly detail: string;
  readonly limit: string;
  readonly tone: Tone;
}

export interface FeatureLine {
  readonly feature: string;
  readonly kind: string;
  readonly monitored: boolean;
  readonly psi: string;
  readonly ksD: string;
  readonly ksP: string;
  readonly chi2P: string;
  readonly missing: string;
  readonly severity: string;
  readonly tone: Tone;
  readonly reasons: string;
}

export interface PerformanceLine {
  readonly metric: string;
  readonly realized: string;
  readonly interval: string;
  readonly estimated: string;
  readonly limit: string;
  readonly tone: Tone;
}

export interface Reading {
  readonly model: string;
  readonly version: string;
  readonly status: Status;
  /** One line under the state: what made it so. */
  readonly headline: string;
  readonly evaluatedAt: string;
  readonly window: string;
  readonly figures: readonly Figure[];
  readonly service: readonly Figure[];
  readonly explanation: readonly string[];
  readonly features: readonly FeatureLine[];
  readonly flagged: readonly string[];
  readonly performance: { readonly note: string; readonly lines: readonly PerformanceLine[]; readonly cohort: string | null };
  readonly steps: { readonly title: string; readonly items: readonly string[] };
  readonly alerts: { readonly critical: readonly string[]; readonly warnings: readonly string[] };
  /** Fairness by group, when the model's manifest names group attributes. */
  readonly fairness: FairnessReading | null;
  /** Attribution drift (tree models): what drives the decisions now against the reference. */
  readonly attribution: AttributionReading | null;
}

export interface AttributionReading {
  readonly shift: string;
  readonly tone: Tone;
  readonly note: string;
  readonly lines: readonly { readonly feature: string; readonly window: string; readonly reference: string }[];
}

/** The attribution section of the page: the ten features with the largest share on the window. */
function attributionReading(r: ServedReport): AttributionReading | null {
  const a = r.attribution;
  if (a === undefined) return null;
  return {
    shift: fixed(a.shift, 3),
    tone: a.severity === 'insufficient_data' ? 'unknown' : a.severity,
    note: `Each feature's share of the mean absolute SHAP value on ${count(a.rows_explained)} of the window's ${count(a.window_rows)} rows (${a.sampled_from === 'hourly_samples' ? 'drawn from the row samples kept with its hourly aggregates' : 'a uniform sample'}), against ${count(a.reference_rows_explained)} reference rows. Shift (total variation distance, 0–1) ${fixed(a.shift, 3)}; warning from 0.10, critical from 0.25.`,
    lines: a.features.slice(0, 10).map((f) => ({ feature: f.feature, window: percent(f.window_share), reference: percent(f.reference_share) })),
  };
}

export const toneOf = (s: Severity | undefined): Tone => (s === 'ok' || s === 'warning' || s === 'critical' ? s : 'unknown');
const worst = (tones: readonly Tone[]): Tone => (tones.includes('critical') ? 'critical' : tones.includes('warning') ? 'warning' : tones.includes('ok') ? 'ok' : 'unknown');
/** A verdict as people read it: `NO VERDICT YET` rather than a code. */
export const STATUS_WORDS: Readonly<Record<Status, string>> = { NO_VERDICT: 'NO VERDICT YET', HEALTHY: 'HEALTHY', ATTENTION: 'ATTENTION', CRITICAL: 'CRITICAL' };

const SEVERITY_WORDS: Readonly<Record<string, string>> = { ok: 'ok', warning: 'warning', critical: 'critical', insufficient_data: 'too few rows', error: 'error' };
const RANK: Readonly<Record<Tone, number>> = { critical: 0, warning: 1, ok: 2, unknown: 3 };
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
/** A share (0–1) as "N out of every 1,000". */
const perThousand = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : count(x * 1000));

function latencyFigure(r: ServedReport): Figure {
  const l = r.operational.latency_ms;
  const t = SERVICE_LIMITS;
  const tone: Tone = l === null ? 'unknown'
    : l.p95 > t.latencyCriticalMs.p95 || l.p99 > t.latencyCriticalMs.p99 ? 'critical'
      : l.p50 > t.latencyWarningMs.p50 || l.p95 > t.latencyWarningMs.p95 ? 'warning' : 'ok';
  return {
    label: 'Latency p50 / p95 / p99',
    value: l === null ? '—' : `${[l.p50, l.p95, l.p99].map((x) => millis(x).replace(/ ms$/, '')).join(' / ')} ms`,
    detail: 'from the arrival of a request to its decision, over the window',
    limit: `alerts above ${t.latencyWarningMs.p50} / ${t.latencyWarningMs.p95} (critical ${t.latencyCriticalMs.p95}) / ${t.latencyCriticalMs.p99} ms`,
    tone,
  };
}

function errorFigure(r: ServedReport): Figure {
  const e = r.operational.since_start;
  const t = SERVICE_LIMITS;
  const tone: Tone = e === undefined || e.ratio_4xx === null || e.ratio_5xx === null ? 'unknown'
    : e.ratio_5xx > t.ratio5xx.critical ? 'critical' : e.ratio_4xx > t.ratio4xx.warning ? 'warning' : 'ok';
  return {
    label: 'Errors 4xx / 5xx',
    value: e === undefined ? '—' : `${percent(e.ratio_4xx)} / ${percent(e.ratio_5xx)}`,
    detail: e === undefined ? 'not reported by this service' : `of ${plural(e.requests, 'predict request')} since the service started`,
    limit: `alerts above ${percent(t.ratio4xx.warning, 0)} / ${percent(t.ratio5xx.critical, 0)}`,
    tone,
  };
}

/** A raw p-value, and the adjusted one the verdict was taken on when the correction moved it (a service that predates the correction reports none). */
function withAdjusted(raw: number | undefined, adjusted: number | undefined): string {
  return adjusted === undefined || adjusted === raw ? pvalue(raw) : `${pvalue(raw)} (adj. ${pvalue(adjusted)})`;
}

function featureLines(r: ServedReport): FeatureLine[] {
  const lines = r.features.map((f) => ({
    feature: f.feature,
    kind: f.kind,
    monitored: f.monitored,
    psi: fixed(f.psi, 3),
    ksD: fixed(f.ks?.statistic, 3),
    ksP: withAdjusted(f.ks?.pvalue, f.ks?.pvalue_adjusted),
    chi2P: withAdjusted(f.chi2?.pvalue, f.chi2?.pvalue_adjusted),
    missing: percent(f.missing_rate),
    severity: f.monitored ? SEVERITY_WORDS[f.severity] ?? f.severity : 'not monitored',
    tone: f.monitored ? toneOf(f.severity) : 'unknown',
    reasons: f.error ?? f.reasons.join('; '),
  }));
  return lines.map((l, i) => ({ l, i })).sort((a, b) => RANK[a.l.tone] - RANK[b.l.tone] || a.i - b.i).map((x) => x.l);
}

function performanceSection(r: ServedReport, limits: ReportLimits): Reading['performance'] {
  if (r.performance === undefined) return { note: 'This service does not report model performance (it predates the performance section).', lines: [], cohort: null };
  const p = r.performance;
  if (p === null) return { note: `Model performance could not be evaluated${r.performance_error === undefined ? '' : `: ${r.performance_error}`}.`, lines: [], cohort: null };
  const t = limits.performance;
  const c = p.cohort;
  const delay = `label delay ${fixed(c.label_delay_days, c.label_delay_days % 1 === 0 ? 0 : 1)} days`;
  const cohort = c.matured === 0
    ? `no prediction has matured yet (predictions with an event time from ${when(c.from)} to ${when(c.to)}; ${delay})`
    : `${plural(c.matured, 'matured prediction')} (event time ${when(c.from)} → ${when(c.to)}, ${delay}), ${count(c.labelled)} labelled (${percent(c.label_coverage)} coverage), ${count(c.positives)} positive`;
  const re = p.realized;
  const es = p.estimated;
  const ci = (i: { lower: number | null; upper: number | null } | undefined) => (i === undefined || i.lower === null ? '—' : `${fixed(i.lower, 3)}–${fixed(i.upper, 3)}`);
  const lines: PerformanceLine[] = [
    { metric: 'AUC', realized: fixed(re?.auc, 3), interval: ci(re?.intervals.auc), estimated: fixed(es?.auc, 3), limit: `≥ ${t.aucWarning} (critical < ${t.aucCritical})`, tone: toneOf(p.severities.auc) },
    { metric: 'precision', realized: fixed(re?.precision, 3), interval: ci(re?.intervals.precision), estimated: fixed(es?.precision, 3), limit: `≥ ${t.precisionWarning}`, tone: toneOf(p.severities.precision) },
    { metric: 'recall', realized: fixed(re?.recall, 3), interval: ci(re?.intervals.recall), estimated: fixed(es?.recall, 3), limit: `≥ ${t.recallWarning}`, tone: toneOf(p.severities.recall) },
    { metric: 'KS separation', realized: fixed(re?.ks_separation, 3), interval: '—', estimated: '—', limit: `≥ ${t.ksSeparationCritical}`, tone: toneOf(p.severities.ks_separation) },
    { metric: 'Brier score', realized: fixed(re?.brier_score, 3), interval: '—', estimated: '—', limit: `≤ ${t.brierWarning}`, tone: toneOf(p.severities.brier_score) },
    { metric: 'label coverage', realized: percent(c.label_coverage), interval: '—', estimated: '—', limit: '—', tone: 'unknown' },
  ];
  const note = re === null
    ? `No labelled prediction has matured yet: realized metrics need ${count(t.minLabelled)} labelled predictions whose label delay has passed.${es === null ? '' : ' The estimate below is computed from the scores alone, before any label (CBPE).'}`
    : c.labelled < t.minLabelled
      ? `Only ${plural(c.labelled, 'labelled prediction')} in the matured cohort: fewer than the ${count(t.minLabelled)} needed for a verdict.`
      : 'Realized: on the labelled matured cohort. Estimated: from the scores of the current window alone (CBPE), before labels arrive.';
  return { note, lines, cohort };
}

function explanation(r: ServedReport, limits: ReportLimits, flagged: readonly string[]): string[] {
  const out: string[] = [];
  const p = r.prediction;
  const minWindow = limits.drift.minWindow;
  out.push(`In this window (${span(r.window.length_seconds)}, ${when(r.window.from)} → ${when(r.window.to)}) the model scored ${plural(r.n, 'case')}.`);
  if (r.n === 0) return [...out, 'Nothing to explain until predictions arrive.'];
  const top = limits.bands[0];
  const topShare = top === undefined ? undefined : p.band_shares[top.name];
  if (top !== undefined && topShare !== undefined) {
    out.push(`Out of every 1,000 cases the model flags ${perThousand(topShare.current)} as high risk (probability ≥ ${top.minProbability}, “${top.name}”: ${top.action}); on the reference data it flagged ${perThousand(topShare.baseline)}.`);
  }
  out.push(`At its decision threshold of ${limits.decisionThreshold}, ${perThousand(p.positive_rate)} of every 1,000 call for action (reference: ${perThousand(p.baseline_positive_rate)}). The average score is ${fixed(p.mean_probability, 3)}, ${change(p.relative_change)} against the reference's ${fixed(p.baseline_mean_probability, 3)}.`);
  const l = r.operational.latency_ms;
  if (l !== null) out.push(`The model answers in ${millis(l.p50)} (half of the answers are faster); 99 in 100 answers take less than ${millis(l.p99)}.`);
  const monitored = r.dataset.monitored;
  if (r.n < minWindow) out.push(`Drift is not judged yet: the window holds ${plural(r.n, 'prediction')} and a verdict needs at least ${count(minWindow)}.`);
  else if (flagged.length === 0) out.push(`All ${count(monitored)} inputs the model watches look like the data it was trained on.`);
  else out.push(`${count(flagged.length)} of the ${count(monitored)} inputs the model watches ${flagged.length === 1 ? 'looks' : 'look'} different from the data it was trained on: ${flagged.join(', ')}.`);
  const re = r.performance?.realized;
  if (re !== null && re !== undefined && r.performance !== null && r.performance !== undefined && r.performance.cohort.labelled >= limits.performance.minLabelled) {
    out.push(`Where outcomes are known (${plural(r.performance.cohort.labelled, 'labelled prediction')}), the model ranks a real positive above a real negative ${percent(re.auc, 0)} of the time (AUC ${fixed(re.auc, 3)}); it catches ${percent(re.recall, 0)} of the real positives, and ${percent(re.precision, 0)} of the cases it flags are real positives.`);
  }
  return out;
}

function nextSteps(r: ServedReport, limits: ReportLimits): Reading['steps'] {
  const { critical, warnings, status } = r.summary;
  const diagnosis = r.diagnosis as Diagnosis | null | undefined;
  if (status === 'CRITICAL') {
    const items = critical.map((c) => `Critical: ${c}.`);
    if (diagnosis?.conclusion !== undefined) items.push(`Diagnosis of the score shift: ${diagnosis.conclusion.text}`);
    if (r.features.some((f) => f.monitored && f.severity === 'critical')) {
      items.push('Before retraining, check the data pipeline: an input that moved this much is often an upstream change (a unit, a default value, a broken join), not a new population.');
    }
    if (critical.some((c) => c.startsWith('performance:'))) {
      items.push('The model is wrong more often on the cases whose outcome is known: check the labels first (a changed definition of the outcome, late or partial labels), then look for the segment where the errors concentrate.');
    }
    items.push('Retrain on recent data once the change is confirmed real, and compare the new model with the current one on the same window before rolling it out.');
    return { title: 'Retrain now', items };
  }
  if (status === 'ATTENTION') {
    return { title: 'Schedule a review', items: [...warnings.map((w) => `Warning: ${w}.`), 'Look at the flagged signals this week; if they keep moving, plan a retraining within 30 days.'] };
  }
  const items = r.n < limits.drift.minWindow
    ? [`Send more traffic: drift is judged from ${count(limits.drift.minWindow)} predictions in the window.`]
    : ['Nothing needs doing: the inputs, the scores and the service are within their limits.'];
  for (const w of warnings) items.push(`Keep an eye on: ${w}.`);
  return { title: 'Keep monitoring', items };
}

/** What a verdict is about, in a few words: `feature LIMIT_BAL`, `performance KS separation`, `score PSI`. */
function subject(reason: string): string {
  if (reason.startsWith('feature ')) return reason.slice(0, reason.indexOf(':') > 0 ? reason.indexOf(':') : undefined);
  const words = reason.replace(/^performance: /, 'performance ').split(' ');
  const firstNumber = words.findIndex((w) => /^[\d(.]/.test(w));
  return words.slice(0, Math.min(firstNumber < 0 ? 3 : firstNumber, 4)).join(' ');
}

/** Reads a report against the model's limits. */
export function readReport(r: ServedReport, limits: ReportLimits): Reading {
  const p = r.prediction;
  const d = limits.drift;
  const flaggedFeatures = r.features.filter((f) => f.monitored && (f.severity === 'critical' || f.severity === 'warning'));
  const flagged = flaggedFeatures.map((f) => `${f.feature} (${f.severity})`);
  const { critical, warnings, status } = r.summary;
  const alertTone: Tone = critical.length > 0 ? 'critical' : warnings.length > 0 ? 'warning' : 'ok';
  const figures: Figure[] = [
    {
      label: 'Mean probability',
      value: fixed(p.mean_probability, 3),
      detail: `baseline ${fixed(p.baseline_mean_probability, 3)} (${change(p.relative_change)})`,
      limit: `warning at ±${percent(d.meanChangeWarning, 0)}, critical at ±${percent(d.meanChangeCritical, 0)}`,
      tone: toneOf(p.mean_change_severity),
    },
    {
      label: 'Score PSI',
      value: fixed(p.score_psi, 3),
      detail: 'how far the score distribution moved from the reference',
      limit: `warning ≥ ${d.scorePsiWarning}, critical ≥ ${d.scorePsiCritical}`,
      tone: toneOf(p.score_psi_severity),
    },
    {
      label: 'Drifted inputs',
      value: `${count(r.dataset.drifted)} of ${count(r.dataset.monitored)}`,
      detail: flaggedFeatures.length === 0 ? 'no monitored feature flagged' : flaggedFeatures.map((f) => f.feature).join(', '),
      limit: `feature PSI warning ≥ ${d.psiWarning}, critical ≥ ${d.psiCritical}`,
      tone: worst(flaggedFeatures.map((f) => toneOf(f.severity)).concat(r.n >= d.minWindow ? ['ok'] : [])),
    },
    {
      label: 'Alerts',
      value: count(critical.length + warnings.length),
      detail: `${count(critical.length)} critical, ${plural(warnings.length, 'warning')}`,
      limit: 'any critical → CRITICAL; more than 3 warnings → ATTENTION',
      tone: alertTone,
    },
    {
      label: 'Window',
      value: count(r.n),
      detail: `predictions over ${span(r.window.length_seconds)}`,
      limit: `at least ${count(d.minWindow)} for a verdict`,
      tone: r.n >= d.minWindow ? 'ok' : 'unknown',
    },
  ];
  const perf = r.performance;
  if (perf !== undefined && perf !== null) {
    figures.push({
      label: 'AUC (labelled)',
      value: fixed(perf.realized?.auc, 3),
      detail: perf.realized === null ? `estimated ${fixed(perf.estimated?.auc, 3)} before labels` : `estimated ${fixed(perf.estimated?.auc, 3)}; ${count(perf.cohort.labelled)} labelled`,
      limit: `≥ ${limits.performance.aucWarning} (critical < ${limits.performance.aucCritical})`,
      tone: toneOf(perf.severities.auc),
    });
  }
  const named = (reasons: readonly string[]) => (reasons.length === 0 ? '' : ` (${[...new Set(reasons.map(subject))].join(', ')})`);
  const headline = critical.length + warnings.length === 0
    ? r.n < d.minWindow ? `Too few predictions for a verdict yet (${count(r.n)} of ${count(d.minWindow)})` : 'Every signal within its limits'
    : [critical.length > 0 ? `${plural(critical.length, 'critical signal')}${named(critical)}` : '', warnings.length > 0 ? `${plural(warnings.length, 'warning')}${named(warnings)}` : ''].filter((x) => x !== '').join(' and ');
  return {
    model: r.model,
    version: r.model_version,
    status,
    headline,
    evaluatedAt: when(r.evaluated_at),
    window: `${when(r.window.from)} → ${when(r.window.to)} (${span(r.window.length_seconds)})`,
    figures,
    service: [latencyFigure(r), errorFigure(r)],
    explanation: explanation(r, limits, flagged),
    features: featureLines(r),
    flagged,
    performance: performanceSection(r, limits),
    steps: nextSteps(r, limits),
    alerts: { critical, warnings },
    attribution: attributionReading(r),
    fairness: readFairness(r.fairness),
  };
}
