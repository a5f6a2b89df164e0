import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError } from '../errors.js';
import { loadExplainer, type Explainer } from '../explain/model-explainer.js';
import { InputEncoder } from './input.js';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.js';
import { OnnxScorer } from './onnx-scorer.js';
import type { Scorer } from './scorer.js';

/** A loaded model bundle: its manifest, its input encoder and its scorer (none when monitor-only). */
export interface LoadedModel {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly encoder: InputEncoder;
  /** Absent in a monitor-only bundle: its predictions are made elsewhere and ingested. */
  readonly scorer: Scorer | undefined;
  /** True when the ONNX probability output was a ZipMap, unwrapped at load. */
  readonly unwrappedZipMap: boolean;
  /** TreeSHAP over the model's tree ensemble, or why the model cannot be explained. */
  readonly explainer: Explainer;
  /** SHA-256 (hex) of the bundle's content (see `bundleContentHash`), recorded on every audit row. */
  readonly contentHash: string;
}

/**
 * The bundle's content hash, its lineage: SHA-256 over, for the model file (none in a
 * monitor-only bundle), the manifest, the
 * reference sample and the calibration sample if any, in that order, each file's name, a
 * newline, its SHA-256 (hex) and a newline. Any byte changed in any of them changes it.
 */
export async function bundleContentHash(dir: string, manifest: Manifest): Promise<string> {
  const files = [...(manifest.model === undefined ? [] : [manifest.model.file]), MANIFEST_FILE, manifest.referenceFile, ...(manifest.calibrationFile === undefined ? [] : [manifest.calibrationFile])];
  const outer = createHash('sha256');
  for (const f of files) {
    const inner = createHash('sha256');
    for await (const chunk of createReadStream(join(dir, f))) inner.update(chunk as Buffer);
    outer.update(`${f}\n${inner.digest('hex')}\n`);
  }
  return outer.digest('hex');
}

/** Splits a CSV header line, dropping surrounding double quotes (R's write.csv quotes names). */
export function parseCsvHeader(line: string): string[] {
  return line.replace(/\r$/, '').split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
}

async function readFirstLine(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const end = text.indexOf('\n');
    return end === -1 ? text : text.slice(0, end);
  } finally {
    await fh.close();
  }
}

/** Checks the reference sample (and the calibration sample, if any) holds every feature and the label column. */
export async function checkReference(dir: string, manifest: Manifest, manifestPath: string): Promise<void> {
  await checkSample(dir, manifest, manifestPath, 'reference.file', manifest.referenceFile);
  if (manifest.calibrationFile !== undefined) await checkSample(dir, manifest, manifestPath, 'reference.calibration_file', manifest.calibrationFile);
}

async function checkSample(dir: string, manifest: Manifest, manifestPath: string, field: string, file: string): Promise<void> {
  const path = join(dir, file);
  let header: string[];
  try {
    header = parseCsvHeader(await readFirstLine(path));
  } catch (err) {
    throw new BundleError(manifestPath, field, `names ${JSON.stringify(file)}, which cannot be read: ${(err as Error).message}`);
  }
  const columns = [...manifest.features.map((f) => f.name), manifest.labelColumn, ...(manifest.scoreColumn === undefined ? [] : [manifest.scoreColumn])];
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new BundleError(path, undefined, `header lacks the column(s) ${missing.map((m) => JSON.stringify(m)).join(', ')} named in ${MANIFEST_FILE}`);
  }
}

/** Loads one bundle folder: validates the manifest and the reference header, loads the ONNX model if it has one. */
export async function loadBundle(dir: string): Promise<LoadedModel> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    throw new BundleError(manifestPath, undefined, `cannot be read: ${(err as Error).message}`);
  }
  const manifest = parseManifest(text, manifestPath);
  await checkReference(dir, manifest, manifestPath);
  return loadScorer(dir, manifest, manifestPath);
}

/** The model of a bundle whose manifest is already read: the ONNX session (none when monitor-only), checked against the manifest, and the bundle's content hash. */
export async function loadScorer(dir: string, manifest: Manifest, manifestPath: string): Promise<LoadedModel> {
  const encoder = new InputEncoder(manifest.features);
  if (manifest.model === undefined) {
    return {
      dir, manifest, encoder, scorer: undefined, unwrappedZipMap: false, contentHash: await bundleContentHash(dir, manifest),
      explainer: { available: false, reason: 'a monitor-only bundle has no model to explain' },
    };
  }
  const scorer = await OnnxScorer.load({
    modelPath: join(dir, manifest.model.file),
    manifestPath,
    inputName: manifest.model.input,
    probabilityOutput: manifest.model.probabilityOutput,
    positiveClassIndex: manifest.model.positiveClassIndex,
    width: manifest.features.length,
  });
  let explainer: Explainer;
  let contentHash: string;
  try {
    explainer = await loadExplainer(dir, manifest, new Uint8Array(await readFile(join(dir, manifest.model.file))));
  } catch (err) {
    await scorer.close();
    throw new BundleError(join(dir, manifest.model.file), undefined, `cannot be prepared for explanations: ${(err as Error).message}`);
  }
  try {
    contentHash = await bundleContentHash(dir, manifest);
  } catch (err) {
    await scorer.close();
    throw new BundleError(manifestPath, undefined, `cannot hash the bundle's files: ${(err as Error).message}`);
  }
  return { dir, manifest, encoder, scorer, unwrappedZipMap: scorer.unwrappedZipMap, explainer, contentHash };
}

/** The bundle folders of a models directory: every sub-folder not starting with a dot. */
export async function listBundleDirs(modelsDir: string): Promise<string[]> {
  let entries;
  try {
    if (!(await stat(modelsDir)).isDirectory()) throw new Error('not a directory');
    entries = await readdir(modelsDir, { withFileTypes: true });
  } catch (err) {
    throw new BundleError(modelsDir, undefined, `is not a readable models directory (VIGIA_MODELS_DIR): ${(err as Error).message}`);
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(modelsDir, e.name)).sort();
  if (dirs.length === 0) throw new BundleError(modelsDir, undefined, 'holds no model bundle (one sub-folder per model, each with vigia.json, and model.onnx unless monitor-only)');
  return dirs;
}
