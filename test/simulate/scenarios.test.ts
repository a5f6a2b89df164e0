import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBaseline, type Baseline } from '../../src/drift/baseline.js';
import { evaluateDrift, type DriftEvaluation } from '../../src/drift/evaluate.js';
import { scoreColumns } from '../../src/drift/reference.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { UsageError } from '../../src/errors.js';
import { describeModel } from '../../src/http/models.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { readPool, rowAt, type RowPool, type SimRow } from '../../src/simulate/pool.js';
import { createRng } from '../../src/simulate/random.js';
import { buildScenario, type ScenarioParams } from '../../src/simulate/scenarios.js';
import { readModelList, type ModelSchema } from '../../src/simulate/schema.js';
import { DEMO_MODELS } from '../helpers/app.js';

let registry: ModelRegistry;
let schema: ModelSchema;
let baseline: Baseline;
/** The reference file is ordered: the baseline is built from its even rows, scenarios replay its odd rows. */
let current: RowPool;

function half(pool: RowPool, parity: 0 | 1): RowPool {
  const keep = Array.from({ length: pool.rows }, (_, i) => i).filter((i) => i % 2 === parity);
  const pick = (a: Float64Array) => Float64Array.from(keep, (i) => a[i]!);
  return { ...pool, rows: keep.length, columns: pool.columns.map(pick), ...(pool.labels === undefined ? {} : { labels: pick(pool.labels) }) };
}

const model = () => registry.get('credit-default')!;

async function columnsOf(names: readonly string[], rows: readonly SimRow[]) {
  const columns = new Map(names.map((n) => [n, Float64Array.from(rows, (r) => r.features[n] ?? Number.NaN)]));
  return { columns, scores: await scoreColumns(model().scorer!, names, columns, rows.length) };
}

const take = (it: Iterator<SimRow>, n = Infinity): SimRow[] => {
  const out: SimRow[] = [];
  for (let r = it.next(); !r.done && out.length < n; r = it.next()) out.push(r.value);
  return out;
};

function run(name: string, params: ScenarioParams = {}, count = current.rows, seed = 7): SimRow[] {
  return take(buildScenario(name, params, schema).rows(current, count, createRng(seed)));
}

async function drift(rows: readonly SimRow[]): Promise<DriftEvaluation> {
  const w = await columnsOf(current.names, rows);
  return evaluateDrift(baseline, w, model().manifest.bands, DEFAULT_DRIFT_THRESHOLDS);
}

const feature = (e: DriftEvaluation, name: string) => e.features.find((f) => f.feature === name)!;
function onlyFlagged(e: DriftEvaluation, names: readonly string[]): void {
  for (const f of e.features) {
    if (names.includes(f.feature)) assert.equal(f.severity, 'critical', `${f.feature}: ${f.reasons.join('; ')}`);
    else assert.equal(f.severity, 'ok', `${f.feature} should be ok: ${f.reasons.join('; ')}`);
  }
}

before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  schema = readModelList({ models: [describeModel(model(), true)] })[0]!;
  const m = model().manifest;
  const all = await readPool(join(DEMO_MODELS, 'credit-default', m.referenceFile), schema, m.labelColumn);
  const ref = half(all, 0);
  current = half(all, 1);
  const refRows = Array.from({ length: ref.rows }, (_, i) => rowAt(ref, i));
  const w = await columnsOf(ref.names, refRows);
  baseline = buildBaseline({ model: m.name, modelVersion: m.version, features: m.features, columns: w.columns, scores: w.scores, threshold: m.threshold, bands: m.bands, builtAt: new Date(0) });
});
after(() => registry.close());

describe('scenarios, each applied to the held-out reference rows and judged by the real drift evaluation', () => {
  it('stable replays every row once per pass, in a seeded order, and nothing drifts', async () => {
    const rows = run('stable');
    assert.deepEqual(rows.map((r) => r.index).sort((a, b) => a - b), Array.from({ length: current.rows }, (_, i) => i));
    assert.notDeepEqual(rows.slice(0, 20).map((r) => r.index), Array.from({ length: 20 }, (_, i) => i), 'not in file order');
    assert.deepEqual(run('stable', {}, 50, 7), rows.slice(0, 50), 'the same seed gives the same rows');
    assert.notDeepEqual(run('stable', {}, 50, 8).map((r) => r.index), rows.slice(0, 50).map((r) => r.index));
    const e = await drift(rows);
    onlyFlagged(e, []);
    assert.equal(e.summary.status, 'HEALTHY', JSON.stringify(e.summary));
  });

  it('covariate-shift of LIMIT_BAL × 3 makes LIMIT_BAL critical and leaves every other feature ok', async () => {
    const rows = run('covariate-shift', { feature: 'LIMIT_BAL', factor: 3 });
    const e = await drift(rows);
    onlyFlagged(e, ['LIMIT_BAL']);
    assert.ok(feature(e, 'LIMIT_BAL').psi! >= 0.25);
    assert.equal(e.summary.status, 'CRITICAL');
    const stable = run('stable');
    assert.equal(rows[0]!.features['LIMIT_BAL'], stable[0]!.features['LIMIT_BAL']! * 3);
    assert.equal(rows[0]!.features['AGE'], stable[0]!.features['AGE']);
  });

  it('covariate-shift by an additive --shift moves the feature too', async () => {
    const e = await drift(run('covariate-shift', { feature: 'AGE', shift: 15 }));
    onlyFlagged(e, ['AGE']);
  });

  it('category-shift moves the mix of EDUCATION toward code 3 and leaves the other inputs ok', async () => {
    const rows = run('category-shift', { feature: 'EDUCATION', category: 3, share: 0.5 });
    const share3 = rows.filter((r) => r.features['EDUCATION'] === 3).length / rows.length;
    assert.ok(share3 > 0.5 && share3 < 0.65, `share of code 3: ${share3}`);
    const e = await drift(rows);
    onlyFlagged(e, ['EDUCATION']);
    assert.ok(feature(e, 'EDUCATION').chi2!.pvalue < 0.01);
  });

  it('population-shift toward AGE<30 selects rows without editing them, and moves AGE', async () => {
    const rows = run('population-shift', { segment: 'AGE<30', share: 0.8 });
    for (const r of rows.slice(0, 200)) assert.deepEqual(r, rowAt(current, r.index), 'a selected row is the pool row as it is');
    const young = rows.filter((r) => r.features['AGE']! < 30).length / rows.length;
    const before = run('stable').filter((r) => r.features['AGE']! < 30).length / current.rows;
    assert.ok(young > 0.8 && before < 0.35, `young share ${young} vs ${before}`);
    const e = await drift(rows);
    assert.equal(feature(e, 'AGE').severity, 'critical');
    assert.ok(feature(e, 'AGE').ks!.statistic > 0.3);
  });

  it('missing-values blanks AGE in about 30 % of rows: its missing rate rises, no other feature has any missing', async () => {
    const e = await drift(run('missing-values', { feature: 'AGE', share: 0.3 }));
    const age = feature(e, 'AGE');
    assert.ok(Math.abs(age.missing_rate - 0.3) < 0.03, `missing rate ${age.missing_rate}`);
    assert.equal(age.severity, 'critical');
    for (const f of e.features.filter((x) => x.feature !== 'AGE')) {
      assert.equal(f.missing_rate, 0, f.feature);
      assert.equal(f.severity, 'ok', f.feature);
    }
  });

  it('concept-drift flips the labels of AGE<30 and only them; the inputs are the stable rows, so every feature stays ok', async () => {
    const rows = run('concept-drift', { segment: 'AGE<30' });
    const stable = run('stable');
    assert.deepEqual(rows.map((r) => r.features), stable.map((r) => r.features));
    let flipped = 0;
    for (const r of rows) {
      const original = rowAt(current, r.index).label;
      if (r.features['AGE']! < 30) {
        assert.equal(r.label, original === null ? null : 1 - original);
        flipped++;
      } else {
        assert.equal(r.label, original);
      }
    }
    assert.ok(flipped > 300, `${flipped} labels flipped`);
    const e = await drift(rows);
    onlyFlagged(e, []);
    assert.equal(e.summary.status, 'HEALTHY');
  });

  it('gradual grows the shift linearly: the first row is unchanged, the last fully shifted, the second half drifts more than the first', async () => {
    const rows = run('gradual', { feature: 'LIMIT_BAL', factor: 3 });
    const stable = run('stable');
    assert.equal(rows[0]!.features['LIMIT_BAL'], stable[0]!.features['LIMIT_BAL']);
    const last = rows.length - 1;
    assert.ok(Math.abs(rows[last]!.features['LIMIT_BAL']! - stable[last]!.features['LIMIT_BAL']! * 3) < 1e-6);
    const first = feature(await drift(rows.slice(0, rows.length / 2)), 'LIMIT_BAL');
    const second = feature(await drift(rows.slice(rows.length / 2)), 'LIMIT_BAL');
    assert.ok(second.psi! > 2 * first.psi!, `PSI ${first.psi} then ${second.psi}`);
    assert.ok(second.ks!.statistic > first.ks!.statistic);
  });

  it('refuses flags that do not fit, naming the flag and the value', () => {
    const usage = (name: string, params: ScenarioParams, message: RegExp, s: ModelSchema = schema) =>
      assert.throws(() => take(buildScenario(name, params, s).rows(current, 10, createRng(1))), (err: unknown) => err instanceof UsageError && message.test(err.message));
    usage('drift', {}, /^--scenario "drift": unknown scenario; one of stable, covariate-shift, /);
    usage('stable', { factor: 3 }, /^--factor "3": does not apply to --scenario stable, which takes no parameters$/);
    usage('covariate-shift', { feature: 'LIMIT_BAL' }, /^--factor: --scenario covariate-shift needs --factor <x> and\/or --shift <x>$/);
    usage('covariate-shift', { feature: 'LIMIT', factor: 2 }, /^--feature "LIMIT": not a feature of credit-default; its features: LIMIT_BAL, SEX/);
    usage('covariate-shift', { feature: 'SEX', factor: 2 }, /^--feature "SEX": is binary; --scenario covariate-shift needs a numeric feature/);
    usage('category-shift', { feature: 'EDUCATION', category: 9 }, /^--category "9": is not a category of EDUCATION; its codes: 0, 1, 2, 3, 4, 5, 6$/);
    usage('category-shift', { feature: 'EDUCATION', category: 3, share: 1.5 }, /^--share "1.5": must be a number from 0 to 1$/);
    usage('population-shift', { segment: 'AGE<<30' }, /^--segment "AGE<<30": expected FEATURE OP NUMBER/);
    usage('population-shift', { segment: 'AGE>300' }, /^--segment "AGE>300": no row of .*reference.csv is in this segment$/);
    usage('population-shift', { segment: 'HEIGHT>1' }, /^--segment "HEIGHT>1": HEIGHT is not a feature of credit-default$/);
    const strict: ModelSchema = { ...schema, features: schema.features.map((f) => ({ ...f, nullable: false })) };
    usage('missing-values', { feature: 'AGE' }, /^--feature "AGE": is not nullable in credit-default/, strict);
    const unlabelled: RowPool = { ...current, labels: undefined, labelColumn: undefined };
    assert.throws(() => buildScenario('concept-drift', { segment: 'AGE<30' }, schema).rows(unlabelled, 10, createRng(1)), /^UsageError: --scenario "concept-drift": flips labels, and .* has no label column$/);
  });
});
