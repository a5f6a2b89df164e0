import { join } from 'node:path';
import { readCsvColumns } from '../data/csv.js';
import type { LoadedModel } from '../model/bundle.js';
import type { Scorer } from '../model/scorer.js';
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
  const { manifest } = model;
  const names = manifest.features.map((f) => f.name);
  const file = join(model.dir, manifest.referenceFile);
  const csv = await readCsvColumns(file, { numeric: [...names, manifest.labelColumn], required: [...names, manifest.labelColumn] });
  const columns = new Map<string, Float64Array>();
  for (const name of names) {
    const column = csv.columns.get(name);
    if (column?.kind !== 'numeric') throw new Error(`${file}: column ${name} is not numeric`);
    columns.set(name, column.values);
  }
  const label = csv.columns.get(manifest.labelColumn);
  const scores = await scoreColumns(model.scorer, names, columns, csv.rows);
  return buildBaseline({
    model: manifest.name,
    modelVersion: manifest.version,
    features: manifest.features,
    columns,
    scores,
    threshold: manifest.threshold,
    bands: manifest.bands,
    ...(label?.kind === 'numeric' ? { labels: label.values } : {}),
    quantiles: opts.quantiles,
    topK: opts.topK,
    builtAt: opts.now,
  });
}
