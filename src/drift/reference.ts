import { join } from 'node:path';
import { readCsvColumns } from '../data/csv.js';
import type { LoadedModel } from '../model/bundle.js';
import { buildBaseline, type Baseline } from './baseline.js';

/** Rows scored per inference call while scoring the reference sample. */
const SCORE_BATCH = 1000;

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
  const n = csv.rows;
  const width = names.length;
  const scores = new Float64Array(n);
  const buffer = new Float32Array(SCORE_BATCH * width);
  for (let start = 0; start < n; start += SCORE_BATCH) {
    const count = Math.min(SCORE_BATCH, n - start);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < width; j++) buffer[i * width + j] = columns.get(names[j]!)![start + i]!;
    }
    scores.set(await model.scorer.score(buffer, count), start);
  }
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
