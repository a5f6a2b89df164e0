import { escapeHtml as h, escapeMarkdown as m, span } from './format.js';
import { STATUS_WORDS, type Figure, type Reading, type Tone } from './reading.js';

/**
 * The weekly report of the seed (the e-mail to the model's owners): API performance, data
 * drift, what drives the decisions (attribution drift, tree models), model performance
 * (estimated before labels, realized after), and actions. Built
 * from the same reading of the report as the status page, as a small document rendered to
 * Markdown or to a self-contained HTML page. Pure.
 */
export interface WeeklyInfo {
  /** When the report was made (ISO). */
  readonly generatedAt: string;
  /** The service it was read from. */
  readonly source: string;
  /** A sentence about the window: the one asked for against the service's. */
  readonly windowNote: string;
}

type Block =
  | { readonly kind: 'heading'; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly kind: 'paragraph'; readonly text: string; readonly strong?: string }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'table'; readonly head: readonly string[]; readonly rows: readonly (readonly string[])[]; readonly tones?: readonly Tone[] };

const VERDICT: Readonly<Record<Tone, string>> = { ok: 'ok', warning: 'warning', critical: 'critical', unknown: '—' };
const figureRows = (figures: readonly Figure[]) => ({
  head: ['measure', 'value', 'detail', 'limit', 'verdict'],
  rows: figures.map((f) => [f.label, f.value, f.detail, f.limit, VERDICT[f.tone]]),
  tones: figures.map((f) => f.tone),
});

function document(r: Reading, info: WeeklyInfo): Block[] {
  const flagged = r.features.filter((f) => f.tone === 'warning' || f.tone === 'critical');
  return [
    { kind: 'heading', level: 1, text: `Weekly model report: ${r.model} ${r.version}` },
    { kind: 'paragraph', strong: STATUS_WORDS[r.status], text: `: ${r.headline}.` },
    { kind: 'paragraph', text: `Window ${r.window}, evaluated ${r.evaluatedAt}. ${info.windowNote}` },
    { kind: 'paragraph', text: `Read from ${info.source} on ${info.generatedAt}.` },
    { kind: 'heading', level: 2, text: 'Summary' },
    { kind: 'list', items: r.explanation },
    { kind: 'heading', level: 2, text: 'API performance' },
    { kind: 'table', ...figureRows(r.service) },
    { kind: 'heading', level: 2, text: 'Data drift' },
    { kind: 'table', ...figureRows(r.figures.filter((f) => !f.label.startsWith('AUC'))) },
    {
      kind: 'paragraph',
      text: flagged.length === 0 ? 'No monitored feature is flagged.' : `Flagged: ${flagged.map((f) => `${f.feature} (${f.severity}: ${f.reasons})`).join('; ')}.`,
    },
    {
      kind: 'table',
      head: ['feature', 'kind', 'PSI', 'KS D', 'KS p', 'chi² p', 'missing', 'severity'],
      rows: r.features.map((f) => [f.feature, f.kind, f.psi, f.ksD, f.ksP, f.chi2P, f.missing, f.severity]),
      tones: r.features.map((f) => f.tone),
    },
    ...attribution(r),
    { kind: 'heading', level: 2, text: 'Model performance' },
    { kind: 'paragraph', text: r.performance.note },
    ...(r.performance.cohort === null ? [] : [{ kind: 'paragraph' as const, text: `Matured cohort: ${r.performance.cohort}.` }]),
    ...(r.performance.lines.length === 0 ? [] : [{
      kind: 'table' as const,
      head: ['metric', 'realized (labels)', '95 % interval', 'estimated (proxy, before labels)', 'limit', 'verdict'],
      rows: r.performance.lines.map((l) => [l.metric, l.realized, l.interval, l.estimated, l.limit, VERDICT[l.tone]]),
      tones: r.performance.lines.map((l) => l.tone),
    }]),
    { kind: 'heading', level: 2, text: 'Actions' },
    { kind: 'heading', level: 3, text: r.steps.title },
    { kind: 'list', items: r.steps.items },
  ];
}

/** Attribution drift (tree models), as the status page shows it: what drives the decisions now against the reference. */
function attribution(r: Reading): Block[] {
  const a = r.attribution;
  if (a === null) return [];
  return [
    { kind: 'heading', level: 2, text: 'What drives the decisions' },
    { kind: 'paragraph', strong: `Attribution shift ${a.shift} (${VERDICT[a.tone]})`, text: `. ${a.note}` },
    { kind: 'table', head: ['feature', 'share now', 'share on the reference'], rows: a.lines.map((l) => [l.feature, l.window, l.reference]) },
  ];
}

/** A table cell: one line, its pipes escaped with the rest (escapeMarkdown). */
const cell = (s: string): string => m(s);

function markdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'heading') out.push(`${'#'.repeat(b.level)} ${m(b.text)}`);
    else if (b.kind === 'paragraph') out.push(b.strong === undefined ? m(b.text, 'line start') : `**${m(b.strong)}**${m(b.text)}`);
    else if (b.kind === 'list') out.push(b.items.map((i) => `- ${m(i, 'line start')}`).join('\n'));
    else out.push([`| ${b.head.map(cell).join(' | ')} |`, `| ${b.head.map(() => '---').join(' | ')} |`, ...b.rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n'));
  }
  return `${out.join('\n\n')}\n`;
}

const COLOURS: Readonly<Record<Tone, string>> = { ok: '#dafbe1', warning: '#fff8c5', critical: '#ffebe9', unknown: '#ffffff' };

function html(blocks: readonly Block[], title: string): string {
  const body = blocks.map((b) => {
    if (b.kind === 'heading') return `<h${b.level}>${h(b.text)}</h${b.level}>`;
    if (b.kind === 'paragraph') return `<p>${b.strong === undefined ? '' : `<strong>${h(b.strong)}</strong>`}${h(b.text)}</p>`;
    if (b.kind === 'list') return `<ul>${b.items.map((i) => `<li>${h(i)}</li>`).join('')}</ul>`;
    const rows = b.rows.map((row, i) => `<tr style="background:${COLOURS[b.tones?.[i] ?? 'unknown']}">${row.map((c) => `<td>${h(c)}</td>`).join('')}</tr>`).join('\n');
    return `<table><thead><tr>${b.head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2328;max-width:960px;margin:0 auto;padding:16px}table{border-collapse:collapse;margin:8px 0;font-size:14px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}th{background:#f6f8fa}h1{font-size:22px}h2{font-size:18px;margin-top:24px}h3{font-size:16px}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

/** The weekly report of a reading, as Markdown or as an HTML page. */
export function renderWeekly(r: Reading, info: WeeklyInfo, format: 'md' | 'html'): string {
  const blocks = document(r, info);
  return format === 'md' ? markdown(blocks) : html(blocks, `Weekly model report: ${r.model} ${r.version} (${STATUS_WORDS[r.status]})`);
}

/** The sentence about the window: the service evaluates its own window (VIGIA_WINDOW); say so when it differs from the one asked for. */
export function windowNote(requestedSeconds: number, serviceSeconds: number): string {
  if (Math.abs(requestedSeconds - serviceSeconds) < 1) return `It covers the ${span(serviceSeconds)} asked for (the service's window, VIGIA_WINDOW).`;
  return `${span(requestedSeconds)} were asked for, but the service evaluates its own window of ${span(serviceSeconds)} (VIGIA_WINDOW on the service) and takes no window per request: this report covers the service's window.`;
}
