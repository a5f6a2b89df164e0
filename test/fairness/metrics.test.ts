import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/app.js';
import type { FairnessSpec } from '../../src/fairness/groups.js';
import { attributeFairness, DEFAULT_FAIRNESS_THRESHOLDS, EMPTY_COUNTS } from '../../src/fairness/metrics.js';
import { buildFairnessReport, countGroups } from '../../src/fairness/report.js';

interface Expected { n: number; selection_rate: number | null; favorable_rate: number | null; adverse_impact_ratio: number | null; positives: number; negatives: number; tpr: number | null; fpr: number | null; tpr_difference: number | null; fpr_difference: number | null }
interface Case {
  name: string; reference: string; min_group_size: number; favorable_decision: 0 | 1; groups: string[];
  window: [string, number][]; cohort: [string, number, number][];
  expected: { groups: Record<string, Expected>; equal_opportunity_difference: number | null; equalized_odds_difference: number | null };
}
const { cases } = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/fairness/metrics.json'), 'utf8')) as { cases: Case[] };

const close = (actual: number | null, expected: number | null, what: string) => {
  if (expected === null) assert.equal(actual, null, `${what}: expected null (insufficient data), got ${actual}`);
  else assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);
};

/** One attribute `A` over the case's groups, counted from the rows as the store would group them. */
function fromRows(c: Case) {
  const spec: FairnessSpec = {
    attributes: [{ name: 'A', source: 'monitoring', values: c.groups, nullable: false, reference: c.reference, groups: c.groups }],
    minGroupSize: c.min_group_size,
    favorableDecision: c.favorable_decision,
  };
  const tally = <K extends string>(keys: K[]) => {
    const m = new Map<K, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const window = [...tally(c.window.map(([g, d]) => `${g}|${d}`))].map(([k, n]) => {
    const [g, d] = k.split('|');
    return [JSON.stringify({ A: g }), Number(d), n] as const;
  });
  const cohort = [...tally(c.cohort.map(([g, d, y]) => `${g}|${d}|${y}`))].map(([k, n]) => {
    const [g, d, y] = k.split('|');
    return [JSON.stringify({ A: g }), Number(d), Number(y), n] as const;
  });
  return { spec, counts: countGroups(spec, window, cohort) };
}

describe('fairness by group', () => {
  for (const c of cases) {
    it(`matches the sklearn confusion-matrix computation: ${c.name}`, () => {
      const { spec, counts } = fromRows(c);
      const report = buildFairnessReport(spec, counts, DEFAULT_FAIRNESS_THRESHOLDS);
      const a = report.attributes[0]!;
      assert.deepEqual(a.groups.map((g) => g.group), c.groups);
      for (const g of a.groups) {
        const e = c.expected.groups[g.group]!;
        assert.equal(g.n, e.n);
        assert.equal(g.positives, e.positives);
        assert.equal(g.negatives, e.negatives);
        for (const k of ['selection_rate', 'favorable_rate', 'adverse_impact_ratio', 'tpr', 'fpr', 'tpr_difference', 'fpr_difference'] as const) close(g[k], e[k], `${g.group} ${k}`);
        assert.equal(g.status === 'insufficient_data', e.selection_rate === null, `${g.group}: a group below the minimum is insufficient data`);
      }
      close(a.equal_opportunity_difference, c.expected.equal_opportunity_difference, 'equal opportunity difference');
      close(a.equalized_odds_difference, c.expected.equalized_odds_difference, 'equalized odds difference');
    });
  }

  it('gives a group with no positive label no true-positive rate, and keeps it out of the spread', () => {
    const c = cases.find((x) => x.name.includes('no positive'))!;
    const a = buildFairnessReport(fromRows(c).spec, fromRows(c).counts, DEFAULT_FAIRNESS_THRESHOLDS).attributes[0]!;
    const noPositives = a.groups.find((g) => g.group === '1')!;
    assert.equal(noPositives.positives, 0);
    assert.equal(noPositives.tpr, null);
    assert.notEqual(noPositives.fpr, null);
  });

  it('gives no verdict at all when the reference group is below the minimum size', () => {
    const c = cases.find((x) => x.name.includes('reference group below'))!;
    const a = buildFairnessReport(fromRows(c).spec, fromRows(c).counts, DEFAULT_FAIRNESS_THRESHOLDS).attributes[0]!;
    assert.ok(a.groups.every((g) => g.adverse_impact_ratio === null));
    assert.ok(a.warnings.every((w) => !w.includes('adverse impact')), a.warnings.join('; '));
  });

  it('judges the favorable rate of decision 0 when decision 1 is the action against the applicant', () => {
    const a = attributeFairness('AGE_BAND', 'ref', new Map([['ref', { ...EMPTY_COUNTS, n: 1000, selected: 300 }], ['young', { ...EMPTY_COUNTS, n: 1000, selected: 450 }]]), 100, 0);
    const young = a.groups.find((g) => g.group === 'young')!;
    assert.equal(young.selection_rate, 0.45);
    assert.equal(young.favorable_rate, 0.55);
    assert.ok(Math.abs(young.adverse_impact_ratio! - 0.55 / 0.7) < 1e-12);
    assert.equal(young.status, 'warning');
  });

  it('warns on a favorable rate outside the four-fifths screen in either direction, and stays silent inside it', () => {
    const counts = (sel: number) => ({ ...EMPTY_COUNTS, n: 1000, selected: sel });
    const judge = (sel: number) => attributeFairness('SEX', '1', new Map([['1', counts(200)], ['2', counts(sel)]]), 100, 1);
    assert.equal(judge(159).status, 'warning'); // 0.795 < 0.8
    assert.equal(judge(160).status, 'ok'); // 0.8
    assert.equal(judge(250).status, 'ok'); // 1.25
    assert.equal(judge(251).status, 'warning'); // 1.255 > 1.25
    assert.match(judge(251).warnings[0]!, /SEX=2: adverse impact ratio 1\.255 \(favorable decision 1 for 25\.1% against 20\.0% for 1\) is outside 0\.8–1\.25/);
  });

  it('says insufficient data, never a verdict, when every group is below the minimum', () => {
    const a = attributeFairness('SEX', '1', new Map([['1', { ...EMPTY_COUNTS, n: 99, selected: 1 }], ['2', { ...EMPTY_COUNTS, n: 99, selected: 90 }]]), 100, 0);
    assert.equal(a.status, 'insufficient_data');
    assert.deepEqual(a.warnings, []);
  });
});
