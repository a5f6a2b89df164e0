import { buildBaseline } from '../../src/drift/baseline.js';
import { windowAggregateLayout } from '../../src/drift/window-aggregate.js';

export const SMALL_BANDS = [{ name: 'high', minProbability: 0.5 }, { name: 'low', minProbability: 0 }];
const ref = Float64Array.from({ length: 2000 }, (_, i) => (i * 37) % 1000 / 10);

/** The aggregate layout of a small model `m` version `1`: a numeric feature `a` and a categorical `c`, KS sketch of 64 cells. */
export const smallLayout = (ksResolution = 64) => windowAggregateLayout(buildBaseline({
  model: 'm', modelVersion: '1', builtAt: new Date(0), threshold: 0.5, bands: SMALL_BANDS,
  features: [{ name: 'a', kind: 'numeric', monitor: true }, { name: 'c', kind: 'categorical', monitor: true }],
  columns: new Map([['a', ref], ['c', Float64Array.from(ref, (v) => Math.floor(v) % 4)]]),
  scores: Float64Array.from(ref, (v) => v / 100),
}), SMALL_BANDS, ksResolution);
