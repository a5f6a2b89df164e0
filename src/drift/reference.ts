import { join } from 'node:path';
import { readCsvColumns, type CsvColumn } from '../data/csv.js';
import type { LoadedModel } from '../model/bundle.js';
import type { Scorer } from '../model/scorer.js';
import { fitIsotonic, type IsotonicCalibrator } from '../performance/isotonic.js';
import { buildBaseline, type Baseline, type FeatureColumn } from './baseline.js';

/** Rows scored per inference call while scoring the reference sample. */
const SCORE_BATCH = 1000;

/** The model's probability for each row: float32 rows in manifest order, NaN for missing. */
export async function scoreColumns(scorer: Scorer, names: readonly string[], columns: ReadonlyMap<string, FeatureColumn>, rows: number): Promise<Float64Array> {
  const width = names.length;
  const ordered = names.map((name) => columns.get(name) as Float64Array);
  const scores = new Float64Array(rows);
  const buffer = new Float32Array(SCORE_BATCH * width);
  for (let start = 0; start < rows; start += SCORE_BATCH) {
    const count = Math.min(SCORE_BATCH, rows - start);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < width; j++) buffer[i * width + j] = ordered[j]![start + i]!;
    }
    scores.set(await scorer.score(buffer, count), start);
  }
  return scores;
}

/**
 * Builds a model's baseline from its bundle: reads the reference sample (features and
 * label), scores it with the model, and freezes the bins. Errors name the file, the line
 * and the column.
 */
export async function buildModelBaseline(model: LoadedModel, opts: { quantiles: number; topK: number; now: Date }): Promise<Baseline> {
  return (await buildModelReference(model, opts)).baseline;
}

/**
 * Reads a labelled sample of the bundle (features and label) and scores it with the model;
 * a monitor-only bundle has no model, and its sample carries the score (`reference.score_column`).
 */
async function readScoredSample(model: LoadedModel, fileName: string): Promise<{ columns: Map<string, Float64Array>; labels: Float64Array | undefined; scores: Float64Array; rows: number }> {
  const { manifest } = model;
  const names = manifest.features.map((f) => f.name);
  const file = join(model.dir, fileName);
  const scoreColumn = manifest.scoreColumn === undefined ? [] : [manifest.scoreColumn];
  const csv = await readCsvColumns(file, { numeric: [...names, manifest.labelColumn, ...scoreColumn], required: [...names, manifest.labelColumn, ...scoreColumn] });
  const columns = new Map<string, Float64Array>();
  for (const name of names) {
    const column = csv.columns.get(name);
    if (column?.kind !== 'numeric') throw new Error(`${file}: column ${name} is not numeric`);
    columns.set(name, column.values);
  }
  const label = csv.columns.get(manifest.labelColumn);
  const scores = model.scorer === undefined ? givenScores(file, csv.columns.get(manifest.scoreColumn!)) : await scoreColumns(model.scorer, names, columns, csv.rows);
  return { columns, labels: label?.kind === 'numeric' ? label.values : undefined, scores, rows: csv.rows };
}

/** The score column of a monitor-only sample: every value a probability from 0 to 1. */
function givenScores(file: string, column: CsvColumn | undefined): Float64Array {
  if (column?.kind !== 'numeric') throw new Error(`${file}: the score column is not numeric`);
  const values = column.values;
  const bad = values.findIndex((p) => !(p >= 0 && p <= 1));
  if (bad !== -1) throw new Error(`${file}: the score column holds ${values[bad]} on data row ${bad + 1}, not a probability from 0 to 1`);
  return values;
}

/** The isotonic calibration of scores to labels, or null when the labels are not a usable 0/1 column of both classes. */
function calibratorOf(scores: Float64Array, labels: Float64Array | undefined): IsotonicCalibrator | null {
  const usable = labels !== undefined && labels.every((y) => y === 0 || y === 1) && labels.includes(0) && labels.includes(1);
  return usable ? fitIsotonic(scores, labels) : null;
}

/**
 * The baseline and the score calibration of a model. The calibration (isotonic, score →
 * observed positive rate) is what the performance estimate before labels (CBPE) needs. It is
 * fitted on the bundle's calibration sample when it has one (`reference.calibration_file`:
 * held-out rows, whose scores are not optimistic as those of training rows are), otherwise on
 * the reference sample; null when the sample has no usable labels.
 */
export async function buildModelReference(model: LoadedModel, opts: { quantiles: number; topK: number; now: Date }): Promise<{ baseline: Baseline; calibrator: IsotonicCalibrator | null }> {
  const { manifest } = model;
  const reference = await readScoredSample(model, manifest.referenceFile);
  const baseline = buildBaseline({
    model: manifest.name,
    modelVersion: manifest.version,
    features: manifest.features,
    columns: reference.columns,
    scores: reference.scores,
    threshold: manifest.threshold,
    bands: manifest.bands,
    ...(reference.labels === undefined ? {} : { labels: reference.labels }),
    quantiles: opts.quantiles,
    topK: opts.topK,
    builtAt: opts.now,
  });
  const sample = manifest.calibrationFile === undefined ? reference : await readScoredSample(model, manifest.calibrationFile);
  return { baseline, calibrator: calibratorOf(sample.scores, sample.labels) };
}
