import { BundleError } from '../errors.js';

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

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly modelFile: string;
  /** The ONNX input that takes float[N, features] in manifest order. */
  readonly inputName: string;
  /** The ONNX output holding class probabilities (a tensor or a ZipMap). */
  readonly probabilityOutput: string;
  /** Column of the positive class in a float[N, classes] probability output. */
  readonly positiveClassIndex: number;
  readonly referenceFile: string;
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
  const model = r.object(m['model'], 'model');
  const reference = r.object(m['reference'], 'reference');
  const decision = r.object(m['decision'], 'decision');
  const label = r.object(m['label'], 'label');
  const features = r.array(m, 'features', '').map((f, i) => readFeature(r, f, i));
  const seen = new Set<string>();
  features.forEach((f, i) => {
    if (seen.has(f.name)) r.fail(`features[${i}].name`, `repeats the feature ${JSON.stringify(f.name)}`);
    seen.add(f.name);
  });
  return {
    name,
    version: r.string(m, 'version', ''),
    description: r.optionalString(m, 'description', ''),
    modelFile: r.string(model, 'file', 'model.', 'model.onnx'),
    inputName: r.string(model, 'input', 'model.'),
    probabilityOutput: r.string(model, 'probability_output', 'model.'),
    positiveClassIndex: r.integer(model, 'positive_class_index', 'model.', 0, 1000, 1),
    referenceFile: r.string(reference, 'file', 'reference.', 'reference.csv'),
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
  };
}
