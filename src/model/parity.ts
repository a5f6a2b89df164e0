import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError } from '../errors.js';
import type { LoadedModel } from './bundle.js';

/** The file of a bundle holding expected probabilities for reference rows (tools/build_parity.py). */
export const PARITY_FILE = 'parity.json';
/** Used when the parity file states no tolerance: absolute difference of probabilities. */
export const DEFAULT_PARITY_TOLERANCE = 1e-4;

export interface ParityRow {
  readonly features: Readonly<Record<string, unknown>>;
  readonly probability: number;
}

export interface ParityExpectation {
  readonly tolerance: number;
  readonly rows: readonly ParityRow[];
}

/** One reference row whose served probability differs from the expected one beyond the tolerance. */
export interface ParityMismatch {
  readonly row: number;
  readonly expected: number;
  readonly served: number;
  readonly difference: number;
}

/** Rows whose served probability is further than `tolerance` from the expected one (pure). */
export function parityMismatches(expected: readonly number[], served: ArrayLike<number>, tolerance: number): ParityMismatch[] {
  const out: ParityMismatch[] = [];
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(served[i]! - expected[i]!);
    if (!(difference <= tolerance)) out.push({ row: i, expected: expected[i]!, served: served[i]!, difference });
  }
  return out;
}

/** Reads a bundle's parity file; undefined when the bundle has none. */
export async function readParity(dir: string): Promise<ParityExpectation | undefined> {
  const path = join(dir, PARITY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BundleError(path, undefined, `cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BundleError(path, undefined, `is not valid JSON: ${(err as Error).message}`);
  }
  const d = doc as { tolerance?: unknown; rows?: unknown };
  const tolerance = d.tolerance ?? DEFAULT_PARITY_TOLERANCE;
  if (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance < 1)) throw new BundleError(path, 'tolerance', `must be a number from 0 to 1, got ${JSON.stringify(tolerance)}`);
  if (!Array.isArray(d.rows) || d.rows.length === 0) throw new BundleError(path, 'rows', 'must be a non-empty array of {"features": {...}, "probability": p}');
  d.rows.forEach((r: unknown, i) => {
    const row = r as { features?: unknown; probability?: unknown };
    if (typeof row?.features !== 'object' || row.features === null) throw new BundleError(path, `rows[${i}].features`, 'must be an object of feature values');
    if (typeof row.probability !== 'number' || !(row.probability >= 0 && row.probability <= 1)) throw new BundleError(path, `rows[${i}].probability`, `must be a probability from 0 to 1, got ${JSON.stringify(row.probability)}`);
  });
  return { tolerance, rows: d.rows as ParityRow[] };
}

/**
 * Scores the parity rows with the loaded model and throws a `BundleError` listing every row
 * that differs beyond the tolerance (row index, expected, served).
 */
export async function checkParity(model: LoadedModel, parity: ParityExpectation): Promise<void> {
  const path = join(model.dir, PARITY_FILE);
  const { encoder, scorer } = model;
  if (scorer === undefined) throw new BundleError(path, undefined, 'belongs to a monitor-only bundle (no "model"): there is nothing to score the parity rows with');
  const rows = new Float32Array(parity.rows.length * encoder.width);
  parity.rows.forEach((r, i) => {
    try {
      encoder.encode(r.features, rows, i, `rows[${i}].features`);
    } catch (err) {
      throw new BundleError(path, `rows[${i}].features`, `does not fit the manifest: ${(err as Error).message}`);
    }
  });
  const served = await scorer.score(rows, parity.rows.length);
  const bad = parityMismatches(parity.rows.map((r) => r.probability), served, parity.tolerance);
  if (bad.length > 0) {
    const listed = bad.map((m) => `row ${m.row}: expected ${m.expected.toFixed(6)}, served ${m.served.toFixed(6)}`).join('; ');
    throw new BundleError(path, undefined, `parity check failed: ${bad.length} of ${parity.rows.length} rows differ by more than ${parity.tolerance}: ${listed}`);
  }
}
