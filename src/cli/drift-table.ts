/**
 * How `vigia drift` prints its result: a table for people, JSON for pipelines. Pure: strings
 * in, strings out.
 */
import type { ColumnDrift, OfflineDriftResult } from '../drift/offline.js';

const DASH = '-';

/** A number with `digits` decimals; `-` when there is none. */
export function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : x.toFixed(digits);
}

/** A p-value: three decimals, or exponent form below 0.001 (`3.2e-45`); `<1e-300` when it underflowed to 0. */
export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return DASH;
  if (p === 0) return '<1e-300';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

const percent = (x: number | null): string => (x === null || !Number.isFinite(x) ? DASH : `${(x * 100).toFixed(1)}`);
const signedPercent = (x: number | null): string => (x === null || !Number.isFinite(x) ? DASH : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);

/** Lays rows out in columns: text left-aligned, numbers right-aligned. */
function layout(header: readonly string[], rows: readonly string[][], right: readonly boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

function severityCell(c: ColumnDrift): string {
  return c.monitored ? c.severity : `${c.severity} (not monitored)`;
}

/** The readable report: one row per column, prediction drift, and the status line. */
export function formatDriftTable(result: OfflineDriftResult): string {
  const out: string[] = [];
  const model = result.model === null ? '' : `, model ${result.model.name} ${result.model.version}`;
  out.push(`reference ${result.reference.file} (${result.reference.rows} rows) vs current ${result.current.file} (${result.current.rows} rows)${model}`);
  out.push('');
  const header = ['column', 'kind', 'n_ref', 'n_cur', 'PSI', 'KS D', 'KS p', 'chi² p', 'missing %', 'severity'];
  const right = [false, false, true, true, true, true, true, true, true, false];
  const rows = result.columns.map((c) => [
    c.name,
    c.kind,
    String(c.n_reference),
    String(c.n_current),
    fixed(c.psi, 3),
    fixed(c.ks?.statistic, 3),
    formatPValue(c.ks?.pvalue),
    formatPValue(c.chi2?.pvalue),
    percent(c.missing_rate),
    severityCell(c),
  ]);
  out.push(...layout(header, rows, right));

  const p = result.prediction;
  if (p !== null) {
    out.push('');
    out.push(`prediction drift (decision threshold ${p.threshold})`);
    const lines = [
      ['score PSI', fixed(p.score_psi, 3), p.score_psi_severity],
      ['score KS', p.score_ks === null ? DASH : `D ${fixed(p.score_ks.statistic, 3)}, p ${formatPValue(p.score_ks.pvalue)}`, ''],
      ['mean probability', `${fixed(p.mean_probability, 4)} vs reference ${fixed(p.reference_mean_probability, 4)} (${signedPercent(p.relative_change)})`, p.mean_change_severity],
      ['positive rate', `${fixed(p.positive_rate, 4)} vs reference ${fixed(p.reference_positive_rate, 4)}`, ''],
    ];
    const width = Math.max(...lines.map((l) => l[0]!.length));
    for (const [name, value, severity] of lines) out.push(`  ${name!.padEnd(width)}  ${value}${severity === '' ? '' : `  ${severity}`}`);
  }

  const { status, critical, warnings } = result.summary;
  const errors = result.columns.filter((c) => c.error !== undefined);
  out.push('');
  const counts = `${critical.length} critical, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  const errorCount = errors.length === 0 ? '' : `, ${errors.length} not evaluated`;
  out.push(`${status}: ${counts}${errorCount} over ${result.columns.length} column${result.columns.length === 1 ? '' : 's'}${p === null ? '' : ' and the prediction'}`);
  for (const c of critical) out.push(`  critical  ${c}`);
  for (const w of warnings) out.push(`  warning   ${w}`);
  for (const c of errors) out.push(`  error     column ${c.name}: ${c.error}`);
  return `${out.join('\n')}\n`;
}

/** The `--json` document. Non-finite numbers become null so the JSON is valid. */
export function driftJson(result: OfflineDriftResult): Record<string, unknown> {
  return {
    reference: result.reference,
    current: result.current,
    model: result.model,
    columns: Object.fromEntries(
      result.columns.map((c) => [
        c.name,
        {
          kind: c.kind,
          monitored: c.monitored,
          psi: c.psi,
          ks: c.ks,
          chi2: c.chi2,
          n_reference: c.n_reference,
          n_current: c.n_current,
          missing_rate: c.missing_rate,
          reference_missing_rate: c.reference_missing_rate,
          severity: c.severity,
          reasons: c.reasons,
          ...(c.error === undefined ? {} : { error: c.error }),
        },
      ]),
    ),
    prediction: result.prediction,
    skipped: result.skipped,
    summary: result.summary,
  };
}

/** `driftJson` as text, one line. */
export function formatDriftJson(result: OfflineDriftResult): string {
  return `${JSON.stringify(driftJson(result), (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value))}\n`;
}
