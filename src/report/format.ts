/** Number formatting shared by the status page and the weekly report; `—` for a missing value. */

export const NONE = '—';

type N = number | null | undefined;
const missing = (x: N): x is null | undefined => x === null || x === undefined || !Number.isFinite(x);

/** An integer with thousands separators: 12,345. */
export const count = (x: N): string => (missing(x) ? NONE : Math.round(x).toLocaleString('en-US'));

/** A fixed number of decimals. */
export const fixed = (x: N, digits: number): string => (missing(x) ? NONE : x.toFixed(digits));

/** A share (0–1) as a percentage: 12.3 %. */
export const percent = (x: N, digits = 1): string => (missing(x) ? NONE : `${(x * 100).toFixed(digits)} %`);

/** A relative change (0.05 = +5 %) with its sign. */
export const change = (x: N): string => (missing(x) ? NONE : `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`);

/** A p-value: three decimals, or scientific notation below 0.001. */
export const pvalue = (x: N): string => (missing(x) ? NONE : x === 0 ? '0' : x < 0.001 ? x.toExponential(1) : x.toFixed(3));

/** Milliseconds with the precision a reader needs: 0.84 ms, 12.3 ms, 450 ms. */
export const millis = (x: N): string => (missing(x) ? NONE : `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)} ms`);

/** A time as `2026-12-01 23:59 UTC`. */
export const when = (iso: string | null | undefined): string => {
  const t = iso === null || iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(t) ? NONE : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};

/** A duration in seconds in words: 7 days, 36 hours, 45 minutes. */
export const span = (seconds: number): string => {
  const plural = (n: number, unit: string) => `${n % 1 === 0 ? n : n.toFixed(1)} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds >= 2 * 86_400) return plural(Math.round((seconds / 86_400) * 10) / 10, 'day');
  if (seconds >= 2 * 3600) return plural(Math.round((seconds / 3600) * 10) / 10, 'hour');
  return plural(Math.round(seconds / 60), 'minute');
};

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/**
 * Text made literal in Markdown: a bundle's band names and actions, feature names or a version
 * cannot open a link, an image, inline HTML, code or emphasis, nor start a heading, a list or
 * a quote. Characters that mark nothing where they stand stay as they are (`LIMIT_BAL`,
 * `(critical < 0.75)`), so the text still reads as plain text. Line breaks become spaces: a
 * block is one line.
 */
export const escapeMarkdown = (text: string, at: 'inline' | 'line start' = 'inline'): string => {
  const inline = text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/[\\`*[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|<(?=[A-Za-z/!?])|&(?=[#A-Za-z])/g, (c) => `\\${c}`);
  return at === 'inline' ? inline : inline.replace(/^(\s*)([#>+=-]|\d+[.)](?=\s|$))/, '$1\\$2');
};
