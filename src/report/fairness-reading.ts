import type { FairnessReport } from '../fairness/report.js';
import { count, fixed, percent } from './format.js';
import type { Tone } from './reading.js';

/** One group of one fairness attribute, as the status page shows it. */
export interface FairnessLine {
  readonly attribute: string;
  readonly group: string;
  readonly reference: boolean;
  readonly n: string;
  readonly selection: string;
  readonly ratio: string;
  readonly tpr: string;
  readonly fpr: string;
  readonly verdict: string;
  readonly tone: Tone;
}

export interface FairnessReading {
  readonly note: string;
  readonly lines: readonly FairnessLine[];
  readonly spreads: readonly { readonly attribute: string; readonly equalOpportunity: string; readonly equalizedOdds: string }[];
  readonly warnings: readonly string[];
}

/** The fairness section of the status page, from the report's. Groups never seen in the window are left out. Pure. */
export function readFairness(f: FairnessReport | undefined): FairnessReading | null {
  if (f === undefined) return null;
  const lines = f.attributes.flatMap((a) => a.groups.filter((g) => g.n > 0 || g.positives + g.negatives > 0).map((g): FairnessLine => ({
    attribute: a.attribute,
    group: g.group,
    reference: g.group === a.reference,
    n: count(g.n),
    selection: percent(g.selection_rate),
    ratio: fixed(g.adverse_impact_ratio, 2),
    tpr: percent(g.tpr),
    fpr: percent(g.fpr),
    verdict: g.status === 'insufficient_data' ? 'too few rows' : g.status,
    tone: g.status === 'warning' ? 'warning' : g.status === 'ok' ? 'ok' : 'unknown',
  })));
  return {
    note: `Decision ${f.favorable_decision} is the favorable one. The adverse impact ratio divides a group's favorable rate by its reference group's; outside 0.8–1.25 (the four-fifths screen) is flagged for a person to look at. It is a screen, not a legal test. Groups with fewer than ${count(f.min_group_size)} rows (or positives, or negatives, for TPR and FPR) get no verdict.`,
    lines,
    spreads: f.attributes.map((a) => ({ attribute: a.attribute, equalOpportunity: fixed(a.equal_opportunity_difference, 3), equalizedOdds: fixed(a.equalized_odds_difference, 3) })),
    warnings: f.warnings,
  };
}
