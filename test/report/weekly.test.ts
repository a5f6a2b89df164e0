import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import type { ServedReport } from '../../src/report/limits.js';
import { readReport } from '../../src/report/reading.js';
import { renderWeekly, windowNote } from '../../src/report/weekly.js';
import { attributionReport } from '../../src/explain/attribution-drift.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { demoLimits, demoReport } from '../helpers/reports.js';

let registry: ModelRegistry;
let shifted: ServedReport;
before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  shifted = await demoReport(registry, { edit: (r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 }), labelled: 1500 });
});
after(() => registry.close());

const info = { generatedAt: '2026-12-01T12:05:00.000Z', source: 'http://localhost:8080', windowNote: windowNote(7 * 86_400, 7 * 86_400) };
const weekly = (r: ServedReport, format: 'md' | 'html') => renderWeekly(readReport(r, demoLimits(registry)), info, format);

describe('the weekly report', () => {
  it('has the seed\'s four parts in order in Markdown: API performance, data drift, model performance, actions', () => {
    const md = weekly(shifted, 'md');
    const order = ['# Weekly model report: credit-default 1.0.0', '## Summary', '## API performance', '## Data drift', '## Model performance', '## Actions'].map((s) => md.indexOf(`${s}\n`));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), JSON.stringify(order));
    assert.match(md, /^\*\*CRITICAL\*\*: 1 critical signal \(feature LIMIT_BAL\) and \d+ warnings? \([^)]+\)\.$/m);
    assert.match(md, /^Window 2026-11-24 12:00 UTC → 2026-12-01 12:00 UTC \(7 days\), evaluated 2026-12-01 12:00 UTC\. It covers the 7 days asked for/m);
    assert.match(md, /^\| Latency p50 \/ p95 \/ p99 \| 1\.00 \/ 1\.00 \/ 1\.00 ms \| .* \| alerts above 150 \/ 200 \(critical 300\) \/ 1000 ms \| ok \|$/m);
    assert.match(md, /^\| Errors 4xx \/ 5xx \| 0\.2 % \/ 0\.0 % \| of 2,000 predict requests since the service started \| .* \| ok \|$/m);
    assert.match(md, /^\| LIMIT_BAL \| numeric \| \d+\.\d{3} \| 0\.\d{3} \| .* \| critical \|$/m);
    assert.match(md, /^\| AUC \| 0\.7\d\d \| 0\.\d{3}–0\.\d{3} \| — \| ≥ 0\.78 \(critical < 0\.75\) \| ok \|$/m);
    assert.match(md, /^### Retrain now\n\n- Critical: feature LIMIT_BAL: PSI/m);
    assert.equal(md.match(/^\| [A-Z_0-9]+ \| (numeric|categorical) \|/gm)?.length, 23, 'every feature in the drift table');
  });

  it('has a section on what drives the decisions (attribution drift) between data drift and model performance, as the status page does', () => {
    const names = shifted.features.map((f) => f.feature);
    const even = Float64Array.from(names, () => 1 / names.length);
    const now = Float64Array.from(names, (n) => (n === 'PAY_0' ? 0.5 : 0.5 / (names.length - 1)));
    const attribution = attributionReport(names, { shares: even, rows: 2000 }, { shares: now, rows: 1_000_000, explained: 2000, sampledFrom: 'hourly_samples' }, 100);
    const md = weekly({ ...shifted, attribution }, 'md');
    const at = (s: string) => md.indexOf(`${s}\n`);
    assert.ok(at('## Data drift') < at('## What drives the decisions') && at('## What drives the decisions') < at('## Model performance'), md);
    assert.match(md, /^\*\*Attribution shift 0\.457 \(critical\)\*\*\. Each feature's share of the mean absolute SHAP value on 2,000 of the window's 1,000,000 rows \(drawn from the row samples kept with its hourly aggregates\), against 2,000 reference rows\./m);
    assert.match(md, /^\| feature \| share now \| share on the reference \|\n\| --- \| --- \| --- \|\n\| PAY_0 \| 50\.0 % \| 4\.3 % \|$/m);
    assert.equal(md.match(/^\| [A-Z_0-9]+ \| \d+\.\d % \| \d+\.\d % \|$/gm)?.length, 10, 'the ten largest shares');
    assert.match(weekly({ ...shifted, attribution }, 'html'), /<h2>What drives the decisions<\/h2>/);
    assert.doesNotMatch(weekly(shifted, 'md'), /What drives the decisions/, 'no section for a model without attribution drift');
  });

  it('writes hostile bundle strings (band names, actions, feature names) as literal text in Markdown and in HTML', () => {
    const hostile = '<img src=x onerror=alert(1)> [click](http://evil.example) **bold** `code` | pipe\n# heading';
    const limits = demoLimits(registry);
    const bands = limits.bands.map((b) => ({ ...b, name: `${b.name} ${hostile}`, action: `${b.action} ${hostile}` }));
    const report = { ...shifted, features: shifted.features.map((f) => (f.feature === 'AGE' ? { ...f, feature: `AGE ${hostile}` } : f)) };
    const reading = readReport(report, { ...limits, bands });
    const md = renderWeekly(reading, info, 'md');
    assert.doesNotMatch(md, /(?<!\\)<img/, 'no raw HTML tag');
    assert.ok(md.includes('\\<img src=x onerror=alert(1)> \\[click\\](http://evil.example) \\*\\*bold\\*\\* \\`code\\` \\| pipe # heading'), md);
    assert.doesNotMatch(md, /^# heading/m, 'a line break in a bundle string starts no heading');
    assert.doesNotMatch(md, /(?<!\\)\[click(?<!\\)\]/);
    const html = renderWeekly(reading, info, 'html');
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  });

  it('says NO VERDICT YET, not HEALTHY, on a window below min_window, in Markdown and in HTML', async () => {
    const few = await demoReport(registry, { rows: 3 });
    assert.equal(few.summary.status, 'NO_VERDICT');
    const md = weekly(few, 'md');
    assert.match(md, /^\*\*NO VERDICT YET\*\*: Too few predictions for a verdict yet \(3 of 100\)\.$/m);
    assert.doesNotMatch(md, /HEALTHY/);
    assert.match(weekly(few, 'html'), /<strong>NO VERDICT YET<\/strong>/);
  });

  it('escapes a pipe inside a Markdown table cell', () => {
    const md = weekly({ ...shifted, features: shifted.features.map((f) => (f.feature === 'AGE' ? { ...f, kind: 'numeric|odd' as 'numeric' } : f)) }, 'md');
    assert.match(md, /^\| AGE \| numeric\\\|odd \|/m);
  });

  it('renders the same content as a self-contained HTML page, escaped', () => {
    const html = weekly({ ...shifted, model: 'a<b>' }, 'html');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<h1>Weekly model report: a&lt;b&gt; 1\.0\.0<\/h1>/);
    assert.match(html, /<h2>API performance<\/h2>[\s\S]*<h2>Data drift<\/h2>[\s\S]*<h2>Model performance<\/h2>[\s\S]*<h2>Actions<\/h2>/);
    assert.match(html, /<tr style="background:#ffebe9"><td>LIMIT_BAL<\/td>/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!localhost)/);
  });

  it('says when the service\'s window differs from the one asked for, and without a performance section says the service has none', () => {
    assert.equal(windowNote(14 * 86_400, 7 * 86_400), '14 days were asked for, but the service evaluates its own window of 7 days (VIGIA_WINDOW on the service) and takes no window per request: this report covers the service\'s window.');
    const { performance: _, ...older } = shifted;
    const md = weekly(older as ServedReport, 'md');
    assert.match(md, /## Model performance\n\nThis service does not report model performance/);
  });
});
