import type { FairnessSpec } from './groups.js';
import { attributeFairness, type AttributeFairness, type FairnessThresholds, type GroupCounts } from './metrics.js';

/** Window counts as the store groups them: the row's groups (JSON), its decision, how many. */
export type WindowGroupCount = readonly [groups: string, decision: number, count: number];
/** Cohort counts: the row's groups (JSON), its decision, its label, how many. */
export type CohortGroupCount = readonly [groups: string, decision: number, label: number, count: number];

interface MutableCounts { n: number; selected: number; tp: number; fp: number; tn: number; fn: number }

/**
 * Adds up the counts of every attribute's groups. Every declared group is present (zero when
 * unseen), in the manifest's order; rows logged before the attribute existed are skipped.
 */
export function countGroups(spec: FairnessSpec, window: Iterable<WindowGroupCount>, cohort: Iterable<CohortGroupCount>): Map<string, Map<string, GroupCounts>> {
  const counts = new Map<string, Map<string, MutableCounts>>();
  for (const a of spec.attributes) counts.set(a.name, new Map(a.groups.map((g) => [g, { n: 0, selected: 0, tp: 0, fp: 0, tn: 0, fn: 0 }])));
  const each = (groupsJson: string, add: (c: MutableCounts) => void) => {
    let groups: Record<string, string>;
    try {
      groups = JSON.parse(groupsJson) as Record<string, string>;
    } catch {
      return;
    }
    for (const [attribute, byGroup] of counts) {
      const c = byGroup.get(groups[attribute] ?? '');
      if (c !== undefined) add(c);
    }
  };
  for (const [g, decision, k] of window) {
    each(g, (c) => {
      c.n += k;
      if (decision === 1) c.selected += k;
    });
  }
  for (const [g, decision, label, k] of cohort) {
    each(g, (c) => {
      if (label === 1 && decision === 1) c.tp += k;
      else if (label === 1) c.fn += k;
      else if (decision === 1) c.fp += k;
      else c.tn += k;
    });
  }
  return counts;
}

export interface FairnessReport {
  readonly min_group_size: number;
  readonly favorable_decision: 0 | 1;
  readonly attributes: readonly AttributeFairness[];
  readonly warnings: readonly string[];
  readonly status: 'ok' | 'warning' | 'insufficient_data';
}

/** The fairness section of a model report, from the counts. Pure. */
export function buildFairnessReport(spec: FairnessSpec, counts: ReadonlyMap<string, ReadonlyMap<string, GroupCounts>>, thresholds: FairnessThresholds): FairnessReport {
  const attributes = spec.attributes.map((a) => attributeFairness(a.name, a.reference, counts.get(a.name) ?? new Map(), spec.minGroupSize, spec.favorableDecision, thresholds));
  const warnings = attributes.flatMap((a) => a.warnings);
  return {
    min_group_size: spec.minGroupSize,
    favorable_decision: spec.favorableDecision,
    attributes,
    warnings,
    status: warnings.length > 0 ? 'warning' : attributes.some((a) => a.status === 'ok') ? 'ok' : 'insufficient_data',
  };
}
