import type { Baseline } from '../drift/baseline.js';
import { categoricalBinOf, numericBinOf, type Category } from '../drift/bins.js';
import type { Metrics } from './metrics.js';

/**
 * Counts answered predictions into the frozen reference bins of each feature, for the fleet
 * PSI that Prometheus computes from the sum over replicas (prometheus/rules/fleet.rules.yml).
 *
 * The hot path only adds 1 to a slot of a Float64Array per feature (a binary search over
 * the frozen edges finds the slot); the counts reach prom-client's counter in the
 * counter's `collect`, just before each scrape, so a prediction costs no label hashing.
 * Every bin is exported from the start at 0 (a bin nobody has hit yet still exists, so
 * `increase()` and the shares see it), next to the reference's share of that bin.
 */
export class ReferenceBinCounts {
  private readonly slots: { readonly name: string; readonly binOf: (v: number) => number; readonly pending: Float64Array; readonly labels: readonly { model: string; version: string; feature: string; bin: string }[] }[];

  constructor(private readonly metrics: Metrics, baseline: Baseline) {
    const model = baseline.model;
    const version = baseline.modelVersion;
    this.slots = baseline.features.map((f) => {
      let binOf: (v: number) => number;
      if (f.kind === 'numeric') {
        const edges = Float64Array.from(f.bins.edges);
        binOf = (v) => numericBinOf(edges, v);
      } else {
        const of = categoricalBinOf(f.bins);
        binOf = (v) => of(v === v ? (v as Category) : null);
      }
      let refTotal = 0;
      for (const c of f.refCounts) refTotal += c;
      const labels = f.bins.labels.map((bin, i) => {
        const l = { model, version, feature: f.name, bin };
        metrics.featureBinPredictions.inc(l, 0);
        metrics.featureBinReferenceRatio.set(l, refTotal === 0 ? 0 : f.refCounts[i]! / refTotal);
        return l;
      });
      return { name: f.name, binOf, pending: new Float64Array(labels.length), labels };
    });
    metrics.referenceBinFlushers.add(this.flush);
  }

  /** Counts answered predictions (the validated feature objects). */
  record(instances: readonly unknown[]): void {
    for (const instance of instances) {
      const values = instance as Record<string, unknown>;
      for (const s of this.slots) {
        const v = values[s.name];
        s.pending[s.binOf(typeof v === 'number' ? v : Number.NaN)]! += 1;
      }
    }
  }

  /** Moves the pending counts into the counter (called by its collect, before a scrape). */
  readonly flush = (): void => {
    for (const s of this.slots) {
      for (let i = 0; i < s.pending.length; i++) {
        if (s.pending[i] === 0) continue;
        this.metrics.featureBinPredictions.inc(s.labels[i]!, s.pending[i]!);
        s.pending[i] = 0;
      }
    }
  };

  /** Stops feeding the counter (the model version was unloaded). */
  close(): void {
    this.flush();
    this.metrics.referenceBinFlushers.delete(this.flush);
  }
}
