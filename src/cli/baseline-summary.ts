/** What `vigia baseline` prints about the baseline it built. Pure. */
import type { Baseline, FeatureBaseline } from '../drift/baseline.js';

/** Bins of a feature: interior bins of a numeric one, kept categories (+1 for `__other__`) of a categorical one. */
export function binCount(f: FeatureBaseline): number {
  if (f.kind === 'numeric') return Math.max(f.bins.edges.length - 1, 1);
  return f.bins.categories.length + (f.bins.other.length > 0 ? 1 : 0);
}

export function formatBaselineSummary(baseline: Baseline, written: string): string {
  const out: string[] = [];
  out.push(`baseline of ${baseline.model} ${baseline.modelVersion} from ${baseline.referenceRows} reference rows (${baseline.quantiles} quantiles, top ${baseline.topK} categories)`);
  const rows = baseline.features.map((f) => [f.name, f.kind, String(binCount(f)), f.monitored ? '' : 'not monitored']);
  const header = ['feature', 'kind', 'bins', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) {
    out.push(`  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]}`.trimEnd());
  }
  const s = baseline.score;
  out.push(`score: mean probability ${s.mean.toFixed(4)}, positive rate ${s.positiveRate.toFixed(4)} at threshold ${baseline.threshold}`);
  if (baseline.labelPositiveRate !== undefined) out.push(`labels: observed positive rate ${baseline.labelPositiveRate.toFixed(4)}`);
  out.push(`written to ${written}`);
  return `${out.join('\n')}\n`;
}
