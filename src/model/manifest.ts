import { BundleError } from '../errors.js';
import { featureGroups, type FairnessSpec, type GroupAttribute } from '../fairness/groups.js';

export const MANIFEST_FILE = 'vigia.json';

export type FeatureKind = 'numeric' | 'categorical' | 'binary';
const FEATURE_KINDS: readonly FeatureKind[] = ['numeric', 'categorical', 'binary'];

export interface FeatureSpec {
  readonly name: string;
  readonly kind: FeatureKind;
  /** Watched for drift; features that grow with history drift by construction and opt out. */
  readonly monitor: boolean;
  /** 1 = most important, when known. */
  readonly importance: number | undefined;
  /** `null` is accepted and scored as missing (NaN); an absent key is always an error. */
  readonly nullable: boolean;
  /** Integer codes seen in training (categorical and binary). Other codes are scored as unseen. */
  readonly categories: readonly number[] | undefined;
  readonly description: string | undefined;
}

export interface Band {
  readonly name: string;
  /** The band holds probabilities ≥ this value and below the next band's. */
  readonly minProbability: number;
  readonly action: string;
  readonly channel: string;
}

/** Features whose contributions are summed into one reason, worded as a letter would say it. */
export interface ReasonGroup {
  /** A stable code (upper-case letters, digits, "_"), returned and stored with the decision. */
  readonly code: string;
  /** The wording for the person the decision is about ("Recent payments are late"). */
  readonly text: string;
  readonly features: readonly string[];
}

/** How decisions are explained (the manifest's optional `explanations` object). */
export interface ExplanationSettings {
  /** Reasons returned at most (default 4: Regulation B's "more than four … not likely to be helpful"). */
  readonly maxReasons: number;
  /**
   * Every feature's group: the groups the manifest names, then one group per feature it
   * leaves out (code = the feature name, text = its description or its name).
   */
  readonly groups: readonly ReasonGroup[];
}

/** Reasons returned by default, as scoring vendors and Regulation B do. */
export const DEFAULT_MAX_REASONS = 4;

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  /** The ONNX model Vigia scores with; absent in a monitor-only bundle (a model served elsewhere). */
  readonly model: OnnxModelSpec | undefined;
  readonly referenceFile: string;
  /**
   * The reference sample's column holding the model's score (probability of the positive
   * class). Required in a monitor-only bundle, which has no model to score the sample with;
   * refused beside a model, which scores the sample itself.
   */
  readonly scoreColumn: string | undefined;
  /** How a payload of the serving system (KServe v1 / v2) maps to the features and the score. */
  readonly serving: ServingSpec;
  /**
   * A labelled sample the model did not train on, for the score calibration of the
   * performance estimate (CBPE); the reference sample is used when absent.
   */
  readonly calibrationFile: string | undefined;
  readonly features: readonly FeatureSpec[];
  readonly threshold: number;
  /** Sorted by `minProbability`, highest first; the last starts at 0. */
  readonly bands: readonly Band[];
  readonly labelColumn: string;
  readonly labelDelayDays: number;
  /** Length of the matured cohort the realized performance is computed on, days. */
  readonly performanceWindowDays: number;
  /** Cost of a false negative and of a false positive, in the owner's unit (default 1 and 1). */
  readonly costs: { readonly falseNegative: number; readonly falsePositive: number };
  /** Held-out test metrics and provenance, as the training script wrote them. */
  readonly training: Readonly<Record<string, unknown>>;
  /** Per-model overrides of the design's threshold table, validated by the features that use them. */
  readonly thresholds: Readonly<Record<string, unknown>>;
  readonly explanations: ExplanationSettings;
  /** The group attributes watched for fairness, when the manifest names any. */
  readonly fairness: FairnessSpec | undefined;
}

export interface OnnxModelSpec {
  readonly file: string;
  /** The ONNX input that takes float[N, features] in manifest order. */
  readonly input: string;
  /** The ONNX output holding class probabilities (a tensor or a ZipMap). */
  readonly probabilityOutput: string;
  /** Column of the positive class in a float[N, classes] probability output. */
  readonly positiveClassIndex: number;
}

/**
 * Where the score is in a response of the serving system: the output tensor named
 * `output` (v2; default the only or first output) or the key `output` of each v1 prediction
 * object, and `column` of a row of class probabilities (default 1, the positive class of a
 * binary classifier). A prediction that is a bare number is the score itself.
 */
export interface ServingSpec {
  readonly output: string | undefined;
  readonly column: number;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Validates one JSON value against the manifest schema, naming the file and the field path.
 * It throws at the first problem, or, given a list (`vigia bundle check`), records every
 * problem and goes on with a neutral value so the next fields are checked too.
 */
class Reader {
  constructor(
    private readonly file: string,
    private readonly problems?: BundleError[],
  ) {}

  fail(field: string, detail: string): never {
    const err = new BundleError(this.file, field, detail);
    if (this.problems === undefined) throw err;
    this.problems.push(err);
    return undefined as never;
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, `must be an object, got ${JSON.stringify(value) ?? 'nothing'}`);
      return {};
    }
    return value as Record<string, unknown>;
  }

  string(obj: Record<string, unknown>, key: string, path: string, fallback?: string): string {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(`${path}${key}`, `must be a non-empty string, got ${JSON.stringify(v) ?? 'nothing'}`);
      return '';
    }
    return v;
  }

  optionalString(obj: Record<string, unknown>, key: string, path: string): string | undefined {
    return obj[key] === undefined ? undefined : this.string(obj, key, path);
  }

  number(obj: Record<string, unknown>, key: string, path: string, min: number, max: number, fallback?: number): number {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(`${path}${key}`, `must be a number from ${min} to ${max}, got ${JSON.stringify(v) ?? 'nothing'}`);
      return Number.NaN;
    }
    return v;
  }

  integer(obj: Record<string, unknown>, key: string, path: string, min: number, max: number, fallback?: number): number {
    const v = this.number(obj, key, path, min, max, fallback);
    if (!Number.isNaN(v) && !Number.isInteger(v)) this.fail(`${path}${key}`, `must be an integer, got ${v}`);
    return v;
  }

  boolean(obj: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'boolean') {
      this.fail(`${path}${key}`, `must be true or false, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  }

  array(obj: Record<string, unknown>, key: string, path: string): unknown[] {
    const v = obj[key];
    if (!Array.isArray(v) || v.length === 0) {
      this.fail(`${path}${key}`, `must be a non-empty array, got ${JSON.stringify(v) ?? 'nothing'}`);
      return [];
    }
    return v;
  }
}

function readFeature(r: Reader, value: unknown, i: number): FeatureSpec {
  const path = `features[${i}].`;
  const f = r.object(value, `features[${i}]`);
  const name = r.string(f, 'name', path);
  const kind = r.string(f, 'kind', path) as FeatureKind;
  if (!FEATURE_KINDS.includes(kind)) r.fail(`${path}kind`, `must be one of ${FEATURE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  let categories: number[] | undefined;
  if (kind !== 'numeric' && FEATURE_KINDS.includes(kind)) {
    const raw = r.array(f, 'categories', path);
    categories = raw.map((c, j) => {
      if (typeof c !== 'number' || !Number.isSafeInteger(c)) r.fail(`${path}categories[${j}]`, `must be an integer code, got ${JSON.stringify(c)}`);
      return c;
    });
    if (new Set(categories).size !== categories.length) r.fail(`${path}categories`, `has duplicate codes: ${JSON.stringify(categories)}`);
    if (kind === 'binary' && categories.length !== 2) r.fail(`${path}categories`, `of a binary feature must hold exactly 2 codes, got ${JSON.stringify(categories)}`);
  } else if (f['categories'] !== undefined) {
    r.fail(`${path}categories`, 'is only allowed on categorical and binary features');
  }
  return {
    name,
    kind,
    monitor: r.boolean(f, 'monitor', path, true),
    importance: f['importance'] === undefined ? undefined : r.integer(f, 'importance', path, 1, 1_000_000),
    nullable: r.boolean(f, 'nullable', path, false),
    categories,
    description: r.optionalString(f, 'description', path),
  };
}

function readBands(r: Reader, decision: Record<string, unknown>): Band[] {
  const bands = r.array(decision, 'bands', 'decision.').map((value, i): Band => {
    const path = `decision.bands[${i}].`;
    const b = r.object(value, `decision.bands[${i}]`);
    return {
      name: r.string(b, 'name', path),
      minProbability: r.number(b, 'min_probability', path, 0, 1),
      action: r.string(b, 'action', path),
      channel: r.string(b, 'channel', path),
    };
  });
  const sorted = [...bands].sort((a, b) => b.minProbability - a.minProbability);
  if (sorted.length === 0) return sorted;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.minProbability === sorted[i - 1]!.minProbability) {
      r.fail('decision.bands', `has two bands starting at ${sorted[i]!.minProbability}`);
    }
  }
  if (new Set(bands.map((b) => b.name)).size !== bands.length) r.fail('decision.bands', 'has duplicate band names');
  if (sorted.at(-1)!.minProbability !== 0) r.fail('decision.bands', 'must include a band with min_probability 0');
  return sorted;
}

const REASON_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

function readExplanations(r: Reader, value: unknown, features: readonly FeatureSpec[]): ExplanationSettings {
  const e = value === undefined ? {} : r.object(value, 'explanations');
  const maxReasons = r.integer(e, 'max_reasons', 'explanations.', 1, 100, DEFAULT_MAX_REASONS);
  const names = new Set(features.map((f) => f.name));
  const owner = new Map<string, string>();
  const groups: ReasonGroup[] = (e['reasons'] === undefined ? [] : r.array(e, 'reasons', 'explanations.')).map((value, i) => {
    const path = `explanations.reasons[${i}].`;
    const g = r.object(value, `explanations.reasons[${i}]`);
    const code = r.string(g, 'code', path);
    if (!REASON_CODE.test(code)) r.fail(`${path}code`, `must be upper-case letters, digits and "_" starting with a letter (at most 64), got ${JSON.stringify(code)}`);
    const members = r.array(g, 'features', path).map((f, j) => {
      if (typeof f !== 'string' || !names.has(f)) r.fail(`${path}features[${j}]`, `must name a feature of the model, got ${JSON.stringify(f)}`);
      const before = owner.get(f);
      if (before !== undefined) r.fail(`${path}features[${j}]`, `puts ${JSON.stringify(f)} in a second reason (it is already in ${before})`);
      owner.set(f, code);
      return f;
    });
    return { code, text: r.string(g, 'text', path), features: members };
  });
  const codes = new Set<string>();
  groups.forEach((g, i) => {
    if (codes.has(g.code)) r.fail(`explanations.reasons[${i}].code`, `repeats the code ${JSON.stringify(g.code)}`);
    codes.add(g.code);
  });
  for (const f of features) {
    if (owner.has(f.name)) continue;
    if (codes.has(f.name)) r.fail('explanations.reasons', `uses the code ${JSON.stringify(f.name)}, which is also the name of the ungrouped feature it would stand for`);
    groups.push({ code: f.name, text: f.description ?? f.name, features: [f.name] });
  }
  return { maxReasons, groups };
}

/** The matured cohort spans this many days of predictions unless the bundle says otherwise. */
export const DEFAULT_PERFORMANCE_WINDOW_DAYS = 30;

function readCosts(r: Reader, decision: Record<string, unknown>): Manifest['costs'] {
  if (decision['costs'] === undefined) return { falseNegative: 1, falsePositive: 1 };
  const c = r.object(decision['costs'], 'decision.costs');
  return {
    falseNegative: r.number(c, 'false_negative', 'decision.costs.', 0, 1e12),
    falsePositive: r.number(c, 'false_positive', 'decision.costs.', 0, 1e12),
  };
}

/** Groups of one attribute are metric labels: at most this many. */
export const MAX_GROUPS_PER_ATTRIBUTE = 32;
/** The minimum group size unless the manifest's `fairness.min_group_size` says otherwise. */
export const DEFAULT_MIN_GROUP_SIZE = 100;

function readGroupAttribute(r: Reader, value: unknown, i: number, features: readonly FeatureSpec[]): GroupAttribute {
  const path = `fairness.attributes[${i}].`;
  const a = r.object(value, `fairness.attributes[${i}]`);
  const name = r.string(a, 'name', path);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) r.fail(`${path}name`, `must be letters, digits or "_" (at most 63), got ${JSON.stringify(name)}`);
  let attribute: GroupAttribute;
  if (a['monitoring'] === true) {
    const values = r.array(a, 'values', path).map((v, j) => {
      if (typeof v !== 'string' || v === '' || v.length > 63) r.fail(`${path}values[${j}]`, `must be a string of 1 to 63 characters, got ${JSON.stringify(v)}`);
      return v;
    });
    if (new Set(values).size !== values.length) r.fail(`${path}values`, `has duplicates: ${JSON.stringify(values)}`);
    if (features.some((f) => f.name === name)) r.fail(`${path}name`, `${JSON.stringify(name)} is a feature; a monitoring attribute needs its own name`);
    const nullable = r.boolean(a, 'nullable', path, false);
    attribute = { name, source: 'monitoring', values, nullable, reference: '', groups: [...values, ...(nullable ? ['missing'] : [])] };
  } else {
    const featureName = r.string(a, 'feature', path);
    const feature = features.find((f) => f.name === featureName);
    if (feature === undefined) r.fail(`${path}feature`, `names no feature of this model: ${JSON.stringify(featureName)}`);
    let edges: number[] | undefined;
    if (a['edges'] !== undefined) {
      edges = r.array(a, 'edges', path).map((e, j) => {
        if (typeof e !== 'number' || !Number.isFinite(e)) r.fail(`${path}edges[${j}]`, `must be a number, got ${JSON.stringify(e)}`);
        return e;
      });
      if (edges.some((e, j) => j > 0 && e <= edges![j - 1]!)) r.fail(`${path}edges`, `must rise strictly, got ${JSON.stringify(edges)}`);
    } else if (feature.kind === 'numeric') {
      r.fail(`${path}edges`, `is needed to band the numeric feature ${JSON.stringify(featureName)} into a bounded number of groups`);
    }
    attribute = { name, source: 'feature', feature: featureName, edges, reference: '', groups: featureGroups(feature, edges) };
  }
  if (attribute.groups.length > MAX_GROUPS_PER_ATTRIBUTE) r.fail(`${path}`, `has ${attribute.groups.length} groups, more than ${MAX_GROUPS_PER_ATTRIBUTE}`);
  const reference = r.string(a, 'reference', path);
  if (!attribute.groups.includes(reference)) r.fail(`${path}reference`, `must be one of its groups (${attribute.groups.join(', ')}), got ${JSON.stringify(reference)}`);
  return { ...attribute, reference };
}

function readFairness(r: Reader, value: unknown, features: readonly FeatureSpec[]): FairnessSpec | undefined {
  if (value === undefined) return undefined;
  const f = r.object(value, 'fairness');
  const attributes = r.array(f, 'attributes', 'fairness.').map((a, i) => readGroupAttribute(r, a, i, features));
  const names = attributes.map((a) => a.name);
  if (new Set(names).size !== names.length) r.fail('fairness.attributes', `repeats an attribute name: ${JSON.stringify(names)}`);
  return {
    attributes,
    minGroupSize: r.integer(f, 'min_group_size', 'fairness.', 1, 1_000_000_000, DEFAULT_MIN_GROUP_SIZE),
    favorableDecision: r.integer(f, 'favorable_decision', 'fairness.', 0, 1, 0) as 0 | 1,
  };
}

/**
 * Parses and validates a bundle manifest (`vigia.json`). `file` is used in errors only.
 * Every error names the file, the field path and the offending value.
 */
export function parseManifest(text: string, file: string): Manifest {
  return readManifest(text, new Reader(file), file);
}

/** Every problem of a manifest at once (none: it parses); `vigia bundle check` prints them all. */
export function manifestProblems(text: string, file: string): { problems: BundleError[]; manifest: Manifest | undefined } {
  const problems: BundleError[] = [];
  try {
    const manifest = readManifest(text, new Reader(file, problems), file);
    return { problems, manifest: problems.length === 0 ? manifest : undefined };
  } catch (err) {
    if (err instanceof BundleError) return { problems: [...problems, err], manifest: undefined };
    throw err;
  }
}

function readManifest(text: string, r: Reader, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BundleError(file, undefined, `is not valid JSON: ${(err as Error).message}`);
  }
  const m = r.object(json, '(root)');
  const schema = r.integer(m, 'schema_version', '', 1, 1, 1);
  void schema;
  const name = r.string(m, 'name', '');
  if (!NAME_PATTERN.test(name)) r.fail('name', `must be lower-case letters, digits, ".", "_" or "-" (at most 63), got ${JSON.stringify(name)}`);
  const model = m['model'] === undefined ? undefined : r.object(m['model'], 'model');
  const reference = r.object(m['reference'], 'reference');
  const decision = r.object(m['decision'], 'decision');
  const label = r.object(m['label'], 'label');
  const features = r.array(m, 'features', '').map((f, i) => readFeature(r, f, i));
  const seen = new Set<string>();
  features.forEach((f, i) => {
    if (seen.has(f.name)) r.fail(`features[${i}].name`, `repeats the feature ${JSON.stringify(f.name)}`);
    seen.add(f.name);
  });
  const scoreColumn = r.optionalString(reference, 'score_column', 'reference.');
  if (model === undefined && scoreColumn === undefined) {
    r.fail('reference.score_column', 'is required in a bundle without "model" (monitor-only): name the reference sample\'s column that holds the model\'s score');
  }
  if (model !== undefined && scoreColumn !== undefined) {
    r.fail('reference.score_column', `is ${JSON.stringify(scoreColumn)}, but the bundle has a model, which scores the reference sample itself; drop one of them`);
  }
  if (scoreColumn !== undefined && features.some((f) => f.name === scoreColumn)) r.fail('reference.score_column', `is ${JSON.stringify(scoreColumn)}, which is a feature`);
  const serving = m['serving'] === undefined ? {} : r.object(m['serving'], 'serving');
  return {
    name,
    version: r.string(m, 'version', ''),
    description: r.optionalString(m, 'description', ''),
    model: model === undefined ? undefined : {
      file: r.string(model, 'file', 'model.', 'model.onnx'),
      input: r.string(model, 'input', 'model.'),
      probabilityOutput: r.string(model, 'probability_output', 'model.'),
      positiveClassIndex: r.integer(model, 'positive_class_index', 'model.', 0, 1000, 1),
    },
    referenceFile: r.string(reference, 'file', 'reference.', 'reference.csv'),
    scoreColumn,
    serving: { output: r.optionalString(serving, 'output', 'serving.'), column: r.integer(serving, 'column', 'serving.', 0, 100_000, 1) },
    calibrationFile: r.optionalString(reference, 'calibration_file', 'reference.'),
    features,
    threshold: r.number(decision, 'threshold', 'decision.', 0, 1),
    bands: readBands(r, decision),
    labelColumn: r.string(label, 'column', 'label.'),
    labelDelayDays: r.number(label, 'delay_days', 'label.', 0, 3650),
    performanceWindowDays: r.number(label, 'window_days', 'label.', 1 / 24, 3650, DEFAULT_PERFORMANCE_WINDOW_DAYS),
    costs: readCosts(r, decision),
    training: m['training'] === undefined ? {} : r.object(m['training'], 'training'),
    thresholds: m['thresholds'] === undefined ? {} : r.object(m['thresholds'], 'thresholds'),
    explanations: readExplanations(r, m['explanations'], features),
    fairness: readFairness(r, m['fairness'], features),
  };
}
