import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError } from '../errors.js';
import { InputEncoder } from './input.js';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.js';
import { OnnxScorer } from './onnx-scorer.js';
import type { Scorer } from './scorer.js';

/** A loaded model bundle: its manifest, its input encoder and its scorer. */
export interface LoadedModel {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly encoder: InputEncoder;
  readonly scorer: Scorer;
  /** True when the ONNX probability output was a ZipMap, unwrapped at load. */
  readonly unwrappedZipMap: boolean;
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
  const missing = [...manifest.features.map((f) => f.name), manifest.labelColumn].filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new BundleError(path, undefined, `header lacks the column(s) ${missing.map((m) => JSON.stringify(m)).join(', ')} named in ${MANIFEST_FILE}`);
  }
}

/** Loads one bundle folder: validates the manifest and the reference header, loads the ONNX model. */
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

/** The model of a bundle whose manifest is already read: the ONNX session, checked against the manifest. */
export async function loadScorer(dir: string, manifest: Manifest, manifestPath: string): Promise<LoadedModel> {
  const scorer = await OnnxScorer.load({
    modelPath: join(dir, manifest.modelFile),
    manifestPath,
    inputName: manifest.inputName,
    probabilityOutput: manifest.probabilityOutput,
    positiveClassIndex: manifest.positiveClassIndex,
    width: manifest.features.length,
  });
  return { dir, manifest, encoder: new InputEncoder(manifest.features), scorer, unwrappedZipMap: scorer.unwrappedZipMap };
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
  if (dirs.length === 0) throw new BundleError(modelsDir, undefined, 'holds no model bundle (one sub-folder per model, each with vigia.json and model.onnx)');
  return dirs;
}
