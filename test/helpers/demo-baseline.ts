import { buildBaseline, type Baseline } from '../../src/drift/baseline.js';
import type { WindowColumns } from '../../src/drift/evaluate.js';
import type { ModelRegistry } from '../../src/model/registry.js';
import { demoRows } from './demo-rows.js';

export const REFERENCE_ROWS = demoRows(5000);
const NAMES = Object.keys(REFERENCE_ROWS[0]!);

/** Scores rows with the demo model and lays them out as window columns. */
export async function columnsOf(registry: ModelRegistry, data: Record<string, number>[]): Promise<WindowColumns & { latencyMs: Float64Array }> {
  const model = registry.get('credit-default')!;
  const x = new Float32Array(data.length * NAMES.length);
  data.forEach((r, i) => NAMES.forEach((n, j) => { x[i * NAMES.length + j] = r[n]!; }));
  const scores = await model.scorer!.score(x, data.length);
  const columns = new Map(NAMES.map((n) => [n, Float64Array.from(data, (r) => r[n]!)]));
  return { columns, scores, latencyMs: new Float64Array(data.length).fill(1) };
}

/** The demo model's baseline, built from its reference sample as the service builds it. */
export async function demoBaseline(registry: ModelRegistry): Promise<Baseline> {
  const m = registry.get('credit-default')!.manifest;
  const ref = await columnsOf(registry, REFERENCE_ROWS);
  return buildBaseline({ model: m.name, modelVersion: m.version, features: m.features, columns: ref.columns, scores: ref.scores, threshold: m.threshold, bands: m.bands, builtAt: new Date(0) });
}

/** A deterministic resample of the reference rows. */
export const resample = (k: number): Record<string, number>[] => Array.from({ length: k }, (_, i) => REFERENCE_ROWS[(i * 7919) % REFERENCE_ROWS.length]!);
