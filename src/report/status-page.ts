import { createHash } from 'node:crypto';
import { escapeHtml as h } from './format.js';
import { STATUS_WORDS, type Figure, type Reading, type Tone } from './reading.js';

/**
 * The status page (`GET /` and `GET /status`): one HTML document for people who do not read
 * PromQL, rendered from the same report as `GET /v1/models/{model}/report`. Self-contained:
 * inline CSS, no script, no external asset, so it works offline and behind any proxy; a
 * viewport and a one-column layout below 640 px make it readable on a phone. Every text
 * that comes from the report or the model is HTML-escaped. Pure.
 */
export interface StatusPageOptions {
  /** Every loaded model, for the model switcher; `selected` is the one shown. */
  readonly models: readonly { readonly name: string; readonly selected: boolean }[];
  /** Seconds between automatic reloads (meta refresh); 0 for none. */
  readonly refreshSeconds: number;
  /** Every version of the model shown: its state, its role in the rollout, and why (a failed load's reason). */
  readonly versions?: readonly VersionLine[];
}

export interface VersionLine {
  readonly version: string;
  readonly state: string;
  readonly role: string;
  readonly reason?: string;
  readonly canary_percent?: number;
}

/** The versions table: one row per version, stable first in the rollout's words. */
function versionTable(versions: readonly VersionLine[] | undefined): string {
  if (versions === undefined || versions.length === 0) return '';
  const rows = versions
    .map((v) => `<tr data-version="${h(v.version)}" data-state="${h(v.state)}"><td class="text">${h(v.version)}</td><td class="text">${h(v.state)}</td><td class="text">${h(v.role)}${v.canary_percent === undefined ? '' : ` (${h(String(v.canary_percent))} %)`}</td><td class="reasons text">${h(v.reason ?? '')}</td></tr>`)
    .join('');
  return `<section id="versions"><h2>Versions</h2><p class="muted">Stable answers; a canary answers its share of callers; a shadow scores copies after the answer; previous stays loaded for an instant rollback.</p><div class="scroll"><table><thead><tr><th class="text">version</th><th class="text">state</th><th class="text">role</th><th class="reasons text">reason</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

const STATE_WORDS: Readonly<Record<string, string>> = {
  NO_VERDICT: 'Too few predictions in the window to judge the model yet.',
  HEALTHY: 'The model and its inputs look as expected.',
  ATTENTION: 'Several signals moved: worth a look this week.',
  CRITICAL: 'At least one signal crossed a critical limit.',
};

const CSS = `
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--warning:#9a6700;--warning-bg:#fff8c5;--critical:#cf222e;--critical-bg:#ffebe9;--unknown:#57606a;--unknown-bg:#eaeef2;--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--card:#fff;--page:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--page)}
main{max-width:1100px;margin:0 auto;padding:16px}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:4px 16px;margin-bottom:12px}
header.top h1{font-size:18px;margin:0}
header.top .meta{color:var(--muted);font-size:13px}
nav.models a{margin-right:10px;font-size:13px}
nav.models a[aria-current]{font-weight:600;color:var(--ink);text-decoration:none}
.state{border-radius:10px;padding:18px 22px;margin:0 0 16px;border:2px solid}
.state .word{font-size:56px;font-weight:800;letter-spacing:.04em;line-height:1.05;margin:0}
.state .why{font-size:17px;margin:6px 0 0}
.state .how{font-size:14px;margin:2px 0 0;opacity:.85}
.tone-ok{--c:var(--ok);--bg:var(--ok-bg)}.tone-warning{--c:var(--warning);--bg:var(--warning-bg)}.tone-critical{--c:var(--critical);--bg:var(--critical-bg)}.tone-unknown{--c:var(--unknown);--bg:var(--unknown-bg)}
.state{color:var(--c);background:var(--bg);border-color:var(--c)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin-bottom:16px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--c);border-radius:8px;padding:10px 12px}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.card .value{font-size:22px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.card.wide{grid-column:span 2}
.card .detail{font-size:13px}
.card .limit{font-size:12px;color:var(--muted)}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin-bottom:16px}
section h2{font-size:16px;margin:0 0 8px}
section p,section li{margin:4px 0}
section ul{padding-left:20px;margin:4px 0}
.steps h3{font-size:20px;margin:0 0 6px;color:var(--c)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,th.text,td.text{text-align:left}
th{font-size:12px;color:var(--muted);font-weight:600}
tr.tone-warning td{background:var(--warning-bg)}tr.tone-critical td{background:var(--critical-bg)}
.pill{display:inline-block;border-radius:999px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;background:var(--c)}
td.reasons{white-space:normal;text-align:left;font-size:12px;color:var(--muted);min-width:180px}
.muted{color:var(--muted);font-size:13px}
footer{color:var(--muted);font-size:13px;margin:8px 0 24px}
@media (max-width:640px){main{padding:10px}.state .word{font-size:40px}.cards{grid-template-columns:1fr 1fr}.card .value{font-size:18px}td.reasons{display:none}th.reasons{display:none}}
@media (max-width:380px){.cards{grid-template-columns:1fr}.card.wide{grid-column:auto}}
`.trim();

/** A figure; a long value (latency p50 / p95 / p99) gets two grid columns so it stays on one line. */
const card = (f: Figure): string =>
  `<div class="card tone-${f.tone}${f.value.length > 12 ? ' wide' : ''}" data-tone="${f.tone}"><div class="label">${h(f.label)}</div><div class="value">${h(f.value)}</div><div class="detail">${h(f.detail)}</div><div class="limit">${h(f.limit)}</div></div>`;

const pill = (tone: Tone, text: string): string => `<span class="pill tone-${tone}">${h(text)}</span>`;

function featureTable(r: Reading): string {
  const rows = r.features
    .map((f) => `<tr class="tone-${f.tone}" data-feature="${h(f.feature)}" data-severity="${h(f.severity)}"><td>${h(f.feature)}</td><td class="text">${h(f.kind)}</td><td>${h(f.psi)}</td><td>${h(f.ksD)}</td><td>${h(f.ksP)}</td><td>${h(f.chi2P)}</td><td>${h(f.missing)}</td><td class="text">${pill(f.tone, f.severity)}</td><td class="reasons">${h(f.reasons)}</td></tr>`)
    .join('\n');
  return `<div class="scroll"><table id="features"><thead><tr><th>feature</th><th class="text">kind</th><th>PSI</th><th>KS D</th><th>KS p</th><th>chi² p</th><th>missing</th><th class="text">severity</th><th class="reasons text">why</th></tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
}

function performance(r: Reading): string {
  const p = r.performance;
  const table = p.lines.length === 0 ? '' : `<div class="scroll"><table><thead><tr><th>metric</th><th>realized</th><th>95 % interval</th><th>estimated</th><th class="text">limit</th><th class="text">verdict</th></tr></thead><tbody>${p.lines
    .map((l) => `<tr class="tone-${l.tone}"><td>${h(l.metric)}</td><td>${h(l.realized)}</td><td>${h(l.interval)}</td><td>${h(l.estimated)}</td><td class="text">${h(l.limit)}</td><td class="text">${l.tone === 'unknown' ? '—' : pill(l.tone, l.tone)}</td></tr>`)
    .join('')}</tbody></table></div>`;
  return `<section id="performance"><h2>Model performance</h2><p>${h(p.note)}</p>${p.cohort === null ? '' : `<p class="muted">Matured cohort: ${h(p.cohort)}.</p>`}${table}</section>`;
}

function attribution(r: Reading): string {
  const a = r.attribution;
  if (a === null) return '';
  const rows = a.lines.map((l) => `<tr data-feature="${h(l.feature)}"><td>${h(l.feature)}</td><td>${h(l.window)}</td><td>${h(l.reference)}</td></tr>`).join('');
  return `<section id="attribution"><h2>What drives the decisions ${pill(a.tone, `shift ${a.shift}`)}</h2><p class="muted">${h(a.note)}</p><div class="scroll"><table><thead><tr><th>feature</th><th>share now</th><th>share on the reference</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

function fairness(r: Reading): string {
  const f = r.fairness;
  if (f === null) return '';
  const rows = f.lines
    .map((l) => `<tr class="tone-${l.tone}" data-attribute="${h(l.attribute)}" data-group="${h(l.group)}"><td>${h(l.attribute)}</td><td class="text">${h(l.group)}${l.reference ? ' (reference)' : ''}</td><td>${h(l.n)}</td><td>${h(l.selection)}</td><td>${h(l.ratio)}</td><td>${h(l.tpr)}</td><td>${h(l.fpr)}</td><td class="text">${l.tone === 'unknown' ? h(l.verdict) : pill(l.tone, l.verdict)}</td></tr>`)
    .join('');
  const spreads = f.spreads.map((s) => `<li>${h(s.attribute)}: equal opportunity difference ${h(s.equalOpportunity)}, equalized odds difference ${h(s.equalizedOdds)}</li>`).join('');
  const warnings = f.warnings.length === 0 ? '<p>No group is flagged.</p>' : `<ul>${f.warnings.map((w) => `<li>${h(w)}</li>`).join('')}</ul>`;
  return `<section id="fairness"><h2>Fairness by group</h2><p class="muted">${h(f.note)}</p>${warnings}<div class="scroll"><table><thead><tr><th>attribute</th><th class="text">group</th><th>predictions</th><th>selection rate</th><th>impact ratio</th><th>TPR</th><th>FPR</th><th class="text">verdict</th></tr></thead><tbody>${rows}</tbody></table></div><ul class="muted">${spreads}</ul></section>`;
}

const STATE_TONE: Readonly<Record<string, Tone>> = { HEALTHY: 'ok', ATTENTION: 'warning', CRITICAL: 'critical' };

/** The status page of one model's report. */
/**
 * The Content-Security-Policy the status page is served with: nothing but its own inline style
 * (allowed by hash, so an injected style or script would not run), no framing, no form, no base.
 */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src '${`sha256-${createHash('sha256').update(CSS).digest('base64')}`}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export function renderStatusPage(r: Reading, opts: StatusPageOptions): string {
  const tone = STATE_TONE[r.status] ?? 'unknown';
  const selected = opts.models.find((m) => m.selected)?.name ?? r.model;
  const q = `?model=${encodeURIComponent(selected)}`;
  const nav = opts.models.length < 2 ? '' : `<nav class="models">${opts.models.map((m) => `<a href="/status?model=${encodeURIComponent(m.name)}"${m.selected ? ' aria-current="page"' : ''}>${h(m.name)}</a>`).join('')}</nav>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}; url=/status${q}">\n` : ''}<title>${h(STATUS_WORDS[r.status])} · ${h(r.model)} · Vigia</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top"><h1>Vigia · ${h(r.model)} ${h(r.version)}</h1><span class="meta">evaluated ${h(r.evaluatedAt)} · window ${h(r.window)}</span>${nav}</header>
<div class="state tone-${tone}" id="state" data-status="${h(r.status)}"><p class="word">${h(STATUS_WORDS[r.status])}</p><p class="why">${h(r.headline)}</p><p class="how">${h(STATE_WORDS[r.status] ?? '')}</p></div>
<div class="cards" id="figures">
${[...r.figures, ...r.service].map(card).join('\n')}
</div>
<section class="steps tone-${tone}" id="next-steps"><h2>Next steps</h2><h3>${h(r.steps.title)}</h3><ul>${r.steps.items.map((i) => `<li>${h(i)}</li>`).join('')}</ul></section>
<section id="explanation"><h2>In plain words</h2>${r.explanation.map((s) => `<p>${h(s)}</p>`).join('')}</section>
<section id="drift"><h2>Inputs: drift per feature</h2><p class="muted">PSI compares the mix of values with the reference (frozen bins); KS and chi² test whether the window could come from the reference. Flagged features first.</p>${featureTable(r)}</section>
${performance(r)}
${attribution(r)}
${versionTable(opts.versions)}
${fairness(r)}
<footer>The same report as JSON: <a href="/v1/models/${encodeURIComponent(r.model)}/report">/v1/models/${h(r.model)}/report</a> · Prometheus: <a href="/metrics">/metrics</a> · <a href="/status${q}&amp;refresh=true">evaluate now</a>${opts.refreshSeconds > 0 ? ` · this page reloads every ${opts.refreshSeconds} s` : ''}</footer>
</main>
</body>
</html>
`;
}
