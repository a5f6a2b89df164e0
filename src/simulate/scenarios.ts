/**
 * The simulator's scenarios: each a named, documented transformation of the stream of rows
 * a run replays. Pure: the rows depend only on the pool, the parameters and the seed.
 *
 * Every scenario starts from the same base stream: the pool's rows in a seeded random order,
 * each row once per pass, reshuffled for the next pass (reference files are often sorted,
 * so replaying them in file order would itself look like drift).
 *
 * | scenario | what changes | parameters |
 * | --- | --- | --- |
 * | `stable` | nothing: a faithful replay | — |
 * | `covariate-shift` | one numeric feature: value × factor + shift | `--feature`, `--factor` and/or `--shift`, `--share` (of rows, default 1) |
 * | `category-shift` | the mix of a categorical feature moves toward one category: a share of rows get it | `--feature`, `--category`, `--share` (default 0.5) |
 * | `population-shift` | which rows are sent: a share of rows is drawn from a segment, the rest from everyone; values untouched | `--segment` (e.g. `AGE<30`), `--share` (default 0.8) |
 * | `missing-values` | a nullable feature is null in a share of rows | `--feature`, `--share` (default 0.3) |
 * | `concept-drift` | the labels of a segment flip (0 ↔ 1) in a share of its rows; inputs unchanged, so only performance can see it | `--segment`, `--share` (default 1) |
 * | `gradual` | a covariate shift whose size grows linearly from nothing at the first row to the full factor/shift at the last | `--feature`, `--factor` and/or `--shift` |
 */
import { UsageError } from '../errors.js';
import { permutation, type Rng } from './random.js';
import { rowAt, type RowPool, type SimRow } from './pool.js';
import type { ModelSchema } from './schema.js';
import { inSegment, parseSegment, type Segment } from './segment.js';

export const SCENARIO_NAMES = ['stable', 'covariate-shift', 'category-shift', 'population-shift', 'missing-values', 'concept-drift', 'gradual'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The scenario flags as given on the command line (all optional). */
export interface ScenarioParams {
  readonly feature?: string;
  readonly factor?: number;
  readonly shift?: number;
  readonly share?: number;
  readonly segment?: string;
  readonly category?: number;
}
type Param = keyof ScenarioParams;

export interface Scenario {
  readonly name: ScenarioName;
  /** The parameters in force, defaults included. */
  readonly params: Readonly<Record<string, number | string>>;
  /** What it does, in one line. */
  readonly description: string;
  /**
   * The `count` rows of a run drawn from `pool`. Checks the pool first (a segment no row is
   * in, labels missing for concept drift) and throws a `UsageError` before any row is made.
   */
  rows(pool: RowPool, count: number, rng: Rng): Iterator<SimRow>;
}

/** Which flags each scenario takes, and the default share. */
const ACCEPTS: Readonly<Record<ScenarioName, { params: readonly Param[]; share?: number }>> = {
  stable: { params: [] },
  'covariate-shift': { params: ['feature', 'factor', 'shift', 'share'], share: 1 },
  'category-shift': { params: ['feature', 'category', 'share'], share: 0.5 },
  'population-shift': { params: ['segment', 'share'], share: 0.8 },
  'missing-values': { params: ['feature', 'share'], share: 0.3 },
  'concept-drift': { params: ['segment', 'share'], share: 1 },
  gradual: { params: ['feature', 'factor', 'shift'] },
};

/** The base stream: pool indexes in a seeded random order, reshuffled on each pass. */
function* shuffled(n: number, rng: Rng): Generator<number> {
  for (;;) {
    const order = permutation(n, rng);
    for (let i = 0; i < n; i++) yield order[i]!;
  }
}

/** `count` base rows, each passed through `edit` (which may change it in place). */
function* edited(pool: RowPool, count: number, rng: Rng, edit: (row: SimRow, i: number) => SimRow): Generator<SimRow> {
  const order = shuffled(pool.rows, rng);
  for (let i = 0; i < count; i++) yield edit(rowAt(pool, order.next().value as number), i);
}

/** Rows whose feature is set to `value` in a share of them (category-shift, missing-values). */
const setInShare = (name: string, value: number | null, share: number): Scenario['rows'] => (pool, count, rng) =>
  edited(pool, count, rng, (r) => {
    if (rng.next() < share) r.features[name] = value;
    return r;
  });

function segmentIndexes(pool: RowPool, s: Segment): number[] {
  const j = pool.names.indexOf(s.feature);
  const out: number[] = [];
  const col = pool.columns[j]!;
  for (let i = 0; i < pool.rows; i++) if (inSegment(s, col[i]!)) out.push(i);
  if (out.length === 0) throw new UsageError('--segment', s.text, `no row of ${pool.file} is in this segment`);
  return out;
}

const flag = (p: Param): string => `--${p}`;

/** Checks the flags against the scenario and the model, and builds it. Throws `UsageError`. */
export function buildScenario(name: string, params: ScenarioParams, schema: ModelSchema): Scenario {
  if (!(SCENARIO_NAMES as readonly string[]).includes(name)) throw new UsageError('--scenario', name, `unknown scenario; one of ${SCENARIO_NAMES.join(', ')}`);
  const scenario = name as ScenarioName;
  const accepts = ACCEPTS[scenario];
  for (const [key, value] of Object.entries(params) as [Param, unknown][]) {
    if (value !== undefined && !accepts.params.includes(key)) {
      throw new UsageError(flag(key), String(value), `does not apply to --scenario ${scenario}${accepts.params.length === 0 ? ', which takes no parameters' : ` (it takes ${accepts.params.map(flag).join(', ')})`}`);
    }
  }
  const share = params.share ?? accepts.share ?? 1;
  if (!(share >= 0 && share <= 1)) throw new UsageError('--share', String(params.share), 'must be a number from 0 to 1');

  const feature = (want: 'numeric' | 'categorical' | 'nullable') => {
    if (params.feature === undefined) throw new UsageError('--feature', undefined, `--scenario ${scenario} needs --feature <name>; features of ${schema.name}: ${schema.features.map((f) => f.name).join(', ')}`);
    const f = schema.features.find((x) => x.name === params.feature);
    if (f === undefined) throw new UsageError('--feature', params.feature, `not a feature of ${schema.name}; its features: ${schema.features.map((x) => x.name).join(', ')}`);
    if (want === 'numeric' && f.kind !== 'numeric') throw new UsageError('--feature', f.name, `is ${f.kind}; --scenario ${scenario} needs a numeric feature (category-shift moves categories)`);
    if (want === 'categorical' && f.kind === 'numeric') throw new UsageError('--feature', f.name, `is numeric; --scenario ${scenario} needs a categorical or binary feature (covariate-shift moves numbers)`);
    if (want === 'nullable' && !f.nullable) throw new UsageError('--feature', f.name, `is not nullable in ${schema.name}, so the service would reject a missing value`);
    return f;
  };
  const segment = (): Segment => {
    if (params.segment === undefined) throw new UsageError('--segment', undefined, `--scenario ${scenario} needs --segment, e.g. --segment 'AGE<30'`);
    const s = parseSegment(params.segment);
    if (s === undefined) throw new UsageError('--segment', params.segment, "expected FEATURE OP NUMBER with OP one of < <= > >= = !=, e.g. 'AGE<30'");
    if (!schema.features.some((f) => f.name === s.feature)) throw new UsageError('--segment', params.segment, `${s.feature} is not a feature of ${schema.name}`);
    return s;
  };
  const move = () => {
    if (params.factor === undefined && params.shift === undefined) throw new UsageError('--factor', undefined, `--scenario ${scenario} needs --factor <x> and/or --shift <x>`);
    return { factor: params.factor ?? 1, shift: params.shift ?? 0 };
  };

  switch (scenario) {
    case 'stable':
      return { name: scenario, params: {}, description: 'the rows as they are, in a seeded random order', rows: (pool, count, rng) => edited(pool, count, rng, (r) => r) };
    case 'covariate-shift': {
      const f = feature('numeric');
      const { factor, shift } = move();
      return {
        name: scenario, params: { feature: f.name, factor, shift, share },
        description: `${f.name} × ${factor}${shift === 0 ? '' : ` + ${shift}`} in ${share * 100} % of rows`,
        rows: (pool, count, rng) => edited(pool, count, rng, (r) => {
          const v = r.features[f.name];
          if (v !== null && v !== undefined && rng.next() < share) r.features[f.name] = v * factor + shift;
          return r;
        }),
      };
    }
    case 'category-shift': {
      const f = feature('categorical');
      const c = params.category;
      if (c === undefined) throw new UsageError('--category', undefined, `--scenario category-shift needs --category <code>; codes of ${f.name}: ${f.categories?.join(', ')}`);
      if (f.categories !== undefined && !f.categories.includes(c)) throw new UsageError('--category', String(c), `is not a category of ${f.name}; its codes: ${f.categories.join(', ')}`);
      return {
        name: scenario, params: { feature: f.name, category: c, share },
        description: `${f.name} set to ${c} in ${share * 100} % of rows`,
        rows: setInShare(f.name, c, share),
      };
    }
    case 'population-shift': {
      const s = segment();
      return {
        name: scenario, params: { segment: s.text, share },
        description: `${share * 100} % of rows drawn from the segment ${s.text}, the rest from everyone`,
        rows: (pool, count, rng) => {
          const members = segmentIndexes(pool, s);
          return (function* () {
            const everyone = shuffled(pool.rows, rng);
            const inside = shuffled(members.length, rng);
            for (let i = 0; i < count; i++) {
              const k = rng.next() < share ? members[inside.next().value as number]! : (everyone.next().value as number);
              yield rowAt(pool, k);
            }
          })();
        },
      };
    }
    case 'missing-values': {
      const f = feature('nullable');
      return {
        name: scenario, params: { feature: f.name, share },
        description: `${f.name} null in ${share * 100} % of rows`,
        rows: setInShare(f.name, null, share),
      };
    }
    case 'concept-drift': {
      const s = segment();
      return {
        name: scenario, params: { segment: s.text, share },
        description: `labels flipped in ${share * 100} % of the segment ${s.text}; inputs unchanged`,
        rows: (pool, count, rng) => {
          if (pool.labels === undefined) throw new UsageError('--scenario', scenario, `flips labels, and ${pool.file} has no label column`);
          segmentIndexes(pool, s);
          return edited(pool, count, rng, (r) => {
            if (r.label !== null && inSegment(s, r.features[s.feature] ?? null) && rng.next() < share) return { ...r, label: r.label === 1 ? 0 : 1 };
            return r;
          });
        },
      };
    }
    case 'gradual': {
      const f = feature('numeric');
      const { factor, shift } = move();
      return {
        name: scenario, params: { feature: f.name, factor, shift },
        description: `${f.name} moving linearly from unchanged to × ${factor}${shift === 0 ? '' : ` + ${shift}`} over the run`,
        rows: (pool, count, rng) => edited(pool, count, rng, (r, i) => {
          const t = count <= 1 ? 1 : i / (count - 1);
          const v = r.features[f.name];
          if (v !== null && v !== undefined) r.features[f.name] = v * (1 + (factor - 1) * t) + shift * t;
          return r;
        }),
      };
    }
  }
}
