import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { readCsvColumns } from '../data/csv.js';
import { BundleError } from '../errors.js';
import { checkReference, loadBundle, loadScorer, parseCsvHeader } from './bundle.js';
import { MANIFEST_FILE, manifestProblems } from './manifest.js';
import { checkParity, PARITY_FILE, readParity } from './parity.js';

/** Columns taken for the label when `--label` is not given, in this order. */
const LABEL_NAMES = ['label', 'target', 'y', 'class', 'default', 'is_fraud', 'fraud'];
/** An integer column with at most this many distinct values is proposed as categorical. */
const MAX_CATEGORIES = 12;
/** Reference rows scored into the parity file. */
const PARITY_ROWS = 16;

export interface InitOptions {
  readonly onnx: string;
  readonly csv: string;
  readonly out: string;
  readonly name?: string;
  readonly version?: string;
  readonly label?: string;
}

export interface InitResult {
  readonly manifestPath: string;
  /** What the user should read and check before serving the bundle. */
  readonly notes: string[];
}

/** The model's input and outputs as onnxruntime reads them, and the ZipMap if there is one. */
async function readModelSignature(onnx: string) {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx);
  } catch (err) {
    throw new BundleError(onnx, undefined, `is rejected by onnxruntime: ${(err as Error).message}`);
  }
  try {
    return { inputs: session.inputMetadata, outputs: session.outputMetadata };
  } finally {
    await session.release();
  }
}

/**
 * Writes a starting bundle: the model and the sample copied in, a manifest whose input and
 * output names and width come from the model and whose features come from the CSV header
 * (kinds proposed from the values), and a parity file of the first reference rows as this
 * model scores them. Refuses a feature count that is not the model's input width.
 */
export async function initBundle(opts: InitOptions): Promise<InitResult> {
  const notes: string[] = [];
  const { inputs, outputs } = await readModelSignature(opts.onnx);
  if (inputs.length !== 1) throw new BundleError(opts.onnx, undefined, `has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); Vigia feeds one float[N, features] input`);
  const input = inputs[0]!;
  const shape = input.isTensor ? input.shape : [];
  const width = typeof shape[1] === 'number' ? shape[1] : undefined;
  if (input.isTensor && input.type !== 'float32') notes.push(`the input ${input.name} is ${input.type}; Vigia sends float32`);

  const header = parseCsvHeader((await readFile(opts.csv, 'utf8')).split('\n', 1)[0] ?? '');
  const label = opts.label ?? LABEL_NAMES.map((n) => header.find((h) => h.toLowerCase() === n)).find((h) => h !== undefined);
  if (label === undefined || !header.includes(label)) {
    throw new BundleError(opts.csv, undefined, `has no label column ${opts.label === undefined ? `(none of ${LABEL_NAMES.join(', ')})` : JSON.stringify(opts.label)}; name it with --label; columns: ${header.join(', ')}`);
  }
  const featureNames = header.filter((h) => h !== label && h !== '');
  if (width !== undefined && featureNames.length !== width) {
    throw new BundleError(opts.csv, undefined, `has ${featureNames.length} feature columns (${featureNames.join(', ')}; label ${label}), but the model's input ${input.name} takes ${width}: the CSV must hold exactly the model's features, in its order, and the label`);
  }
  if (width === undefined) notes.push(`the model does not declare its input width; check that it takes the ${featureNames.length} features in this order`);

  // The probability output: a ZipMap (skl2onnx, onnxmltools), else a float tensor of [N, classes].
  const zipmap = outputs.find((o) => !o.isTensor);
  const floats = outputs.filter((o) => o.isTensor && (o.type === 'float32' || o.type === 'float64'));
  const probability = zipmap ?? floats.find((o) => o.isTensor && o.shape.length === 2) ?? floats[0];
  if (probability === undefined) throw new BundleError(opts.onnx, undefined, `has no float or ZipMap output to read a probability from; outputs: ${outputs.map((o) => `${o.name} (${o.isTensor ? o.type : 'non-tensor'})`).join(', ')}`);
  if (zipmap !== undefined) notes.push(`the output ${zipmap.name} is a ZipMap (seq(map(int64, float))): Vigia unwraps it at load and reads column 1`);

  const data = await readCsvColumns(opts.csv, { infer: true, required: [label] });
  const features = featureNames.map((name) => {
    const col = data.columns.get(name);
    if (col === undefined || col.kind !== 'numeric') throw new BundleError(opts.csv, undefined, `column ${JSON.stringify(name)} is not numeric; Vigia takes numeric features and integer category codes`);
    const values = col.values;
    let missing = false;
    let integers = true;
    const distinct = new Set<number>();
    for (const v of values) {
      if (Number.isNaN(v)) {
        missing = true;
        continue;
      }
      if (!Number.isInteger(v)) integers = false;
      if (distinct.size <= MAX_CATEGORIES) distinct.add(v);
    }
    const categorical = integers && distinct.size <= MAX_CATEGORIES && distinct.size >= 2;
    const categories = [...distinct].sort((a, b) => a - b);
    return {
      name,
      kind: categorical ? (distinct.size === 2 ? 'binary' : 'categorical') : 'numeric',
      ...(categorical ? { categories } : {}),
      monitor: true,
      nullable: missing,
    };
  });
  const proposed = features.filter((f) => f.kind !== 'numeric').map((f) => f.name);
  if (proposed.length > 0) notes.push(`proposed as categorical or binary from their values (check them): ${proposed.join(', ')}`);
  notes.push('decision threshold and bands are the design defaults (0.5; critical ≥ 0.5, moderate ≥ 0.2, low): set your own');
  notes.push('label.delay_days is 30: set how long your labels take to arrive');

  const manifest = {
    schema_version: 1,
    name: opts.name ?? 'my-model',
    version: opts.version ?? '1.0.0',
    model: { file: 'model.onnx', input: input.name, probability_output: probability.name, positive_class_index: 1 },
    reference: { file: 'reference.csv' },
    features,
    decision: {
      threshold: 0.5,
      bands: [
        { name: 'critical', min_probability: 0.5, action: 'review', channel: 'manual' },
        { name: 'moderate', min_probability: 0.2, action: 'monitor', channel: 'automatic' },
        { name: 'low', min_probability: 0, action: 'none', channel: 'none' },
      ],
    },
    label: { column: label, delay_days: 30 },
  };
  await mkdir(opts.out, { recursive: true });
  await copyFile(opts.onnx, join(opts.out, 'model.onnx'));
  await copyFile(opts.csv, join(opts.out, 'reference.csv'));
  const manifestPath = join(opts.out, MANIFEST_FILE);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  // The parity file: the first reference rows as this model scores them now, so a later load
  // (another runtime, a swapped model file) is checked against what was reviewed here.
  const model = await loadBundle(opts.out);
  try {
    const rows = [];
    const n = Math.min(PARITY_ROWS, data.rows);
    const buf = new Float32Array(n * features.length);
    for (let i = 0; i < n; i++) {
      const row: Record<string, number | null> = {};
      features.forEach((f, j) => {
        const v = (data.columns.get(f.name) as { values: Float64Array }).values[i]!;
        row[f.name] = Number.isNaN(v) ? null : v;
        buf[i * features.length + j] = Number.isNaN(v) ? Number.NaN : v;
      });
      rows.push(row);
    }
    // bundle init always writes a "model" (it starts from an ONNX file), so the bundle has a scorer.
    const probabilities = await model.scorer!.score(buf, n);
    const parity = { source: `vigia bundle init: the first ${n} reference rows scored by onnxruntime-node when the bundle was made`, tolerance: 1e-4, rows: rows.map((features, i) => ({ features, probability: probabilities[i] })) };
    const partial = join(opts.out, `.${PARITY_FILE}.partial`);
    await writeFile(partial, `${JSON.stringify(parity, null, 1)}\n`);
    await rename(partial, join(opts.out, PARITY_FILE));
  } finally {
    await model.scorer?.close();
  }
  return { manifestPath, notes };
}

/**
 * Every problem of a bundle at once: the manifest's fields (all of them, not the first),
 * then — when the manifest is usable — the reference sample, the model (inputs, outputs,
 * width, output type) and the parity file. Empty when the bundle would load.
 */
export async function checkBundle(dir: string): Promise<string[]> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    return [`${manifestPath}: cannot be read: ${(err as Error).message}`];
  }
  const { problems, manifest } = manifestProblems(text, manifestPath);
  if (manifest === undefined) return problems.map((p) => p.message);
  const out: string[] = [];
  try {
    await checkReference(dir, manifest, manifestPath);
  } catch (err) {
    out.push((err as Error).message);
  }
  let model;
  try {
    model = await loadScorer(dir, manifest, manifestPath);
  } catch (err) {
    out.push((err as Error).message);
  }
  // A monitor-only bundle scores nothing here: no parity file to check.
  if (model !== undefined && model.scorer !== undefined) {
    try {
      const parity = await readParity(dir);
      if (parity === undefined) out.push(`${join(dir, PARITY_FILE)}: is missing: a live load (vigia admin load) needs it; vigia bundle init writes one`);
      else await checkParity(model, parity);
    } catch (err) {
      out.push((err as Error).message);
    } finally {
      await model.scorer.close();
    }
  }
  return out;
}
