/**
 * Offline drift between two CSV files: a reference and a current sample. Reads both, builds
 * the reference's baseline, evaluates the current file against it with the same statistics
 * and verdicts as the service, and returns the result. No output: progress is handed to a
 * callback and the caller formats the result.
 *
 * With a model bundle the columns are the model's features, typed and flagged by its
 * manifest (binary features are categorical), both files are scored by the model, and the
 * result has prediction drift; the manifest's thresholds apply. Without one, the columns are
 * those present in both files: numeric when both files hold numbers, categorical (as text)
 * otherwise.
 */
import { performance } from 'node:perf_hooks';
import { readCsvColumns, type CsvColumn, type CsvColumns, type ReadCsvOptions } from '../data/csv.js';
import type { LoadedModel } from '../model/bundle.js';
import { buildBaseline, type BaselineFeatureSpec, type FeatureColumn } from './baseline.js';
import { scoreColumns } from './reference.js';
import { evaluateDrift, type FeatureDrift, type PredictionDrift, type Status } from './evaluate.js';
import { DEFAULT_DRIFT_THRESHOLDS, driftThresholds, type DriftThresholds, type Severity } from './severity.js';

/** Rows scored per inference call. */

/** An input the comparison cannot run on (a column without values, a bundle feature that is not numeric). */
export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
}

/** A step done: a file read, read again for the columns that turned out to be text, or scored. */
export interface ProgressEvent {
  readonly stage: 'read' | 'reread' | 'score';
  readonly role: 'reference' | 'current';
  readonly file: string;
  readonly rows: number;
  readonly seconds: number;
}

export interface OfflineDriftOptions {
  readonly reference: string;
  readonly current: string;
  /** The model whose features, kinds, thresholds and scores are used; none: every shared column. */
  readonly model?: LoadedModel;
  readonly quantiles?: number;
  readonly topK?: number;
  /** Laid over the defaults, or over the model's thresholds. */
  readonly thresholds?: Partial<DriftThresholds>;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly now?: Date;
}

export interface ColumnDrift {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly monitored: boolean;
  readonly psi: number | null;
  /** `pvalue_adjusted`: after the correction across the columns (`thresholds.correction`), the p-value the verdict is taken on. */
  readonly ks: { readonly statistic: number; readonly pvalue: number; readonly pvalue_adjusted: number } | null;
  readonly chi2: { readonly statistic: number; readonly dof: number; readonly pvalue: number; readonly pvalue_adjusted: number } | null;
  /** Non-missing values in the reference. */
  readonly n_reference: number;
  /** Non-missing values in the current file. */
  readonly n_current: number;
  /** Share of missing values in the current file. */
  readonly missing_rate: number;
  readonly reference_missing_rate: number;
  readonly severity: Severity;
  readonly reasons: readonly string[];
  readonly error?: string;
}

export interface OfflinePrediction {
  readonly n_reference: number;
  readonly n_current: number;
  readonly score_psi: number | null;
  readonly score_psi_severity: Severity;
  readonly score_ks: { readonly statistic: number; readonly pvalue: number } | null;
  readonly mean_probability: number | null;
  readonly reference_mean_probability: number;
  /** (current − reference) / reference. */
  readonly relative_change: number | null;
  readonly mean_change_severity: Severity;
  readonly positive_rate: number | null;
  readonly reference_positive_rate: number;
  readonly threshold: number;
}

export interface SkippedColumn {
  readonly name: string;
  readonly reason: string;
}

export interface OfflineDriftResult {
  readonly reference: { readonly file: string; readonly rows: number };
  readonly current: { readonly file: string; readonly rows: number };
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly thresholds: DriftThresholds;
  readonly columns: readonly ColumnDrift[];
  readonly prediction: OfflinePrediction | null;
  /** Columns left out of the comparison, and why. */
  readonly skipped: readonly SkippedColumn[];
  readonly summary: { readonly status: Status; readonly critical: readonly string[]; readonly warnings: readonly string[] };
}

interface Sides {
  readonly specs: BaselineFeatureSpec[];
  readonly reference: Map<string, FeatureColumn>;
  readonly current: Map<string, FeatureColumn>;
  readonly skipped: SkippedColumn[];
}

type Read = (role: 'reference' | 'current', file: string, opts: ReadCsvOptions, stage?: 'read' | 'reread') => Promise<CsvColumns>;

const isMissing = (v: number | string | null): boolean => v === null || v !== v;

function countMissing(values: FeatureColumn): number {
  let missing = 0;
  for (let i = 0; i < values.length; i++) if (isMissing(values[i]!)) missing++;
  return missing;
}

/** The model's features, read as numbers from both files (extra columns ignored). */
async function bundleSides(model: LoadedModel, opts: OfflineDriftOptions, read: Read): Promise<Sides> {
  const names = model.manifest.features.map((f) => f.name);
  const reference = await read('reference', opts.reference, { numeric: names, required: names });
  const current = await read('current', opts.current, { numeric: names, required: names });
  const numbers = (csv: CsvColumns) => new Map(names.map((name) => [name, (csv.columns.get(name) as CsvColumn & { kind: 'numeric' }).values]));
  const ref = numbers(reference);
  for (const f of model.manifest.features) {
    if (f.kind === 'numeric' && countMissing(ref.get(f.name)!) === reference.rows) {
      throw new DriftInputError(`${opts.reference}: column "${f.name}" has no values (every cell is missing), so it has no reference distribution`);
    }
  }
  return { specs: [...model.manifest.features], reference: ref, current: numbers(current), skipped: [] };
}

/**
 * Every column of both files, typed by content: numeric when numeric in both files, else
 * categorical, read as text from both (re-reading a file where it looked numeric, so `007`
 * stays `007`). Columns in one file only, the unnamed row-names column and columns with no
 * reference values are skipped.
 */
async function sharedSides(opts: OfflineDriftOptions, read: Read): Promise<Sides> {
  const reference = await read('reference', opts.reference, { infer: true });
  const current = await read('current', opts.current, { infer: true });
  const skipped: SkippedColumn[] = [];
  const inCurrent = new Set(current.header);
  const inReference = new Set(reference.header);
  const shared: string[] = [];
  for (const name of reference.header) {
    if (name === '') skipped.push({ name, reason: 'unnamed column (row names)' });
    else if (!inCurrent.has(name)) skipped.push({ name, reason: `only in the reference ${opts.reference}` });
    else shared.push(name);
  }
  for (const name of current.header) {
    if (name !== '' && !inReference.has(name)) skipped.push({ name, reason: `only in the current file ${opts.current}` });
  }
  const mixed = shared.filter((name) => reference.columns.get(name)!.kind !== 'numeric' || current.columns.get(name)!.kind !== 'numeric');
  const asText = async (role: 'reference' | 'current', csv: CsvColumns, file: string): Promise<Map<string, FeatureColumn>> => {
    const out = new Map<string, FeatureColumn>(shared.map((name) => [name, csv.columns.get(name)!.values]));
    const numericHere = mixed.filter((name) => csv.columns.get(name)!.kind === 'numeric');
    if (numericHere.length > 0) {
      const again = await read(role, file, { text: numericHere }, 'reread');
      for (const name of numericHere) out.set(name, again.columns.get(name)!.values);
    }
    return out;
  };
  const ref = await asText('reference', reference, opts.reference);
  const cur = await asText('current', current, opts.current);
  const specs: BaselineFeatureSpec[] = [];
  for (const name of shared) {
    if (countMissing(ref.get(name)!) === reference.rows) {
      skipped.push({ name, reason: `no values in the reference ${opts.reference} (every cell is missing)` });
      ref.delete(name);
      cur.delete(name);
    } else {
      specs.push({ name, kind: mixed.includes(name) ? 'categorical' : 'numeric', monitor: true });
    }
  }
  return { specs, reference: ref, current: cur, skipped };
}

function columnDrift(f: FeatureDrift, reference: FeatureColumn, current: FeatureColumn): ColumnDrift {
  const refMissing = countMissing(reference);
  const curMissing = countMissing(current);
  return {
    name: f.feature,
    kind: f.kind,
    monitored: f.monitored,
    psi: f.psi,
    ks: f.ks === null ? null : { statistic: f.ks.statistic, pvalue: f.ks.pvalue, pvalue_adjusted: f.ks.pvalue_adjusted },
    chi2: f.chi2,
    n_reference: reference.length - refMissing,
    n_current: current.length - curMissing,
    missing_rate: current.length === 0 ? 0 : curMissing / current.length,
    reference_missing_rate: reference.length === 0 ? 0 : refMissing / reference.length,
    severity: f.severity,
    reasons: f.reasons,
    ...(f.error === undefined ? {} : { error: f.error }),
  };
}

function predictionOf(p: PredictionDrift, referenceRows: number, threshold: number): OfflinePrediction {
  return {
    n_reference: referenceRows,
    n_current: p.n,
    score_psi: p.score_psi,
    score_psi_severity: p.score_psi_severity,
    score_ks: p.score_ks,
    mean_probability: p.mean_probability,
    reference_mean_probability: p.baseline_mean_probability,
    relative_change: p.relative_change,
    mean_change_severity: p.mean_change_severity,
    positive_rate: p.positive_rate,
    reference_positive_rate: p.baseline_positive_rate,
    threshold,
  };
}

/**
 * Compares the current file with the reference file. Rejects with a `CsvError` (file, line,
 * column) on a malformed file or a missing model feature, with a `DriftInputError` when a
 * comparison cannot be built, and with node:fs errors for unreadable files.
 */
export async function offlineDrift(opts: OfflineDriftOptions): Promise<OfflineDriftResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const rows = { reference: 0, current: 0 };
  const read: Read = async (role, file, readOpts, stage = 'read') => {
    const started = performance.now();
    const csv = await readCsvColumns(file, readOpts);
    rows[role] = csv.rows;
    progress({ stage, role, file, rows: csv.rows, seconds: (performance.now() - started) / 1000 });
    return csv;
  };
  const model = opts.model;
  const sides = model === undefined ? await sharedSides(opts, read) : await bundleSides(model, opts, read);

  let referenceScores: Float64Array;
  let currentScores: Float64Array;
  if (model === undefined) {
    // Without a model there are no scores. evaluateDrift's prediction part then runs on
    // constant placeholder scores, which can raise no verdict, and is dropped below.
    referenceScores = new Float64Array(rows.reference);
    currentScores = new Float64Array(rows.current);
  } else {
    const names = model.manifest.features.map((f) => f.name);
    const scorer = model.scorer;
    if (scorer === undefined) throw new Error(`the bundle ${model.dir} is monitor-only (no model): it cannot score the two files; compare them without --bundle`);
    const score = async (role: 'reference' | 'current', file: string, columns: ReadonlyMap<string, FeatureColumn>) => {
      const started = performance.now();
      const scores = await scoreColumns(scorer, names, columns, rows[role]);
      progress({ stage: 'score', role, file, rows: rows[role], seconds: (performance.now() - started) / 1000 });
      return scores;
    };
    referenceScores = await score('reference', opts.reference, sides.reference);
    currentScores = await score('current', opts.current, sides.current);
  }

  const manifest = model?.manifest;
  const thresholds: DriftThresholds = { ...(manifest === undefined ? DEFAULT_DRIFT_THRESHOLDS : driftThresholds(manifest.thresholds)), ...opts.thresholds };
  const bands = manifest?.bands ?? [{ name: 'all', minProbability: 0 }];
  const threshold = manifest?.threshold ?? 0.5;
  const baseline = buildBaseline({
    model: manifest?.name ?? 'offline',
    modelVersion: manifest?.version ?? '-',
    features: sides.specs,
    columns: sides.reference,
    scores: referenceScores,
    threshold,
    bands,
    ...(opts.quantiles === undefined ? {} : { quantiles: opts.quantiles }),
    ...(opts.topK === undefined ? {} : { topK: opts.topK }),
    builtAt: opts.now ?? new Date(),
  });
  const evaluation = evaluateDrift(baseline, { columns: sides.current, scores: currentScores }, bands, thresholds);
  return {
    reference: { file: opts.reference, rows: rows.reference },
    current: { file: opts.current, rows: rows.current },
    model: manifest === undefined ? null : { name: manifest.name, version: manifest.version },
    thresholds,
    columns: evaluation.features.map((f) => columnDrift(f, sides.reference.get(f.feature)!, sides.current.get(f.feature)!)),
    prediction: manifest === undefined ? null : predictionOf(evaluation.prediction, rows.reference, threshold),
    skipped: sides.skipped,
    summary: evaluation.summary,
  };
}
