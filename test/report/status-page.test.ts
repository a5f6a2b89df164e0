import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import type { ReportLimits, ServedReport } from '../../src/report/limits.js';
import { readReport } from '../../src/report/reading.js';
import { renderStatusPage } from '../../src/report/status-page.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { demoLimits, demoReport } from '../helpers/reports.js';

let registry: ModelRegistry;
let limits: ReportLimits;
let stable: ServedReport;
let shifted: ServedReport;
before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  limits = demoLimits(registry);
  stable = await demoReport(registry);
  shifted = await demoReport(registry, { edit: (r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 }), labelled: 1500 });
});
after(() => registry.close());

const page = (r: ServedReport) => renderStatusPage(readReport(r, limits), { models: [{ name: 'credit-default', selected: true }], refreshSeconds: 30 });
/** The rows of the feature table: feature → severity. */
const severities = (html: string) => new Map([...html.matchAll(/<tr class="tone-\w+" data-feature="([^"]+)" data-severity="([^"]+)">/g)].map((m) => [m[1]!, m[2]!]));
const text = (html: string) => html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]+>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('the status page', () => {
  it('says HEALTHY in big letters, flags no feature and says to keep monitoring, on stable traffic', () => {
    const html = page(stable);
    assert.match(html, /<div class="state tone-ok" id="state" data-status="HEALTHY"><p class="word">HEALTHY<\/p>/);
    const rows = severities(html);
    assert.equal(rows.size, 23);
    assert.ok([...rows.values()].every((s) => s === 'ok'), JSON.stringify([...rows]));
    const t = text(html);
    assert.match(t, /Next steps Keep monitoring Nothing needs doing/);
    assert.match(t, /Out of every 1,000 cases the model flags \d+ as high risk \(probability ≥ 0\.5, “critical”: high-touch intervention\); on the reference data it flagged \d+\./);
    assert.match(t, /The model answers in 1\.00 ms \(half of the answers are faster\); 99 in 100 answers take less than 1\.00 ms\./);
    assert.match(t, /All 23 inputs the model watches look like the data it was trained on\./);
    assert.match(t, /This service does not report model performance|Model performance could not be evaluated/);
  });

  it('shows the key figures with their limits', () => {
    const t = text(page(stable));
    assert.match(t, /Mean probability 0\.\d{3} baseline 0\.\d{3} \([+−]\d+\.\d %\) warning at ±20 %, critical at ±50 %/);
    assert.match(t, /Latency p50 \/ p95 \/ p99 1\.00 \/ 1\.00 \/ 1\.00 ms .* alerts above 150 \/ 200 \(critical 300\) \/ 1000 ms/);
    assert.match(t, /Window 2,000 predictions over 7 days at least 100 for a verdict/);
    assert.match(t, /Alerts 0 0 critical, 0 warnings/);
    assert.match(t, /Errors 4xx \/ 5xx 0\.2 % \/ 0\.0 % of 2,000 predict requests since the service started/);
  });

  it('says CRITICAL, lists the shifted feature first as critical, and says to retrain, on shifted traffic', () => {
    const html = page(shifted);
    assert.match(html, /data-status="CRITICAL"><p class="word">CRITICAL<\/p>/);
    const rows = [...severities(html)];
    assert.deepEqual(rows[0], ['LIMIT_BAL', 'critical']);
    assert.ok(rows.slice(1).every(([, s]) => s === 'ok'), JSON.stringify(rows));
    const t = text(html);
    assert.match(t, /Next steps Retrain now Critical: feature LIMIT_BAL: PSI \d+\.\d{3} ≥ 0\.25/);
    assert.match(t, /check the data pipeline/);
    assert.match(t, /1 of the 23 inputs the model watches looks different from the data it was trained on: LIMIT_BAL \(critical\)\./);
    assert.match(t, /Drifted inputs 1 of 23 LIMIT_BAL/);
  });

  it('shows realized and estimated performance when the report has them, with label coverage', () => {
    const t = text(page(shifted));
    assert.match(t, /Model performance Realized: on the labelled matured cohort/);
    assert.match(t, /AUC 0\.7\d\d 0\.\d{3}–0\.\d{3} — ≥ 0\.78 \(critical < 0\.75\)/);
    assert.match(t, /label coverage 50\.0 %/);
    assert.match(t, /1,500 labelled \(50\.0 % coverage\)/);
    assert.match(t, /the model ranks a real positive above a real negative \d+ % of the time \(AUC 0\.7\d\d\)/);
  });

  it('says so when no label has matured yet', () => {
    const t = text(page({ ...stable, performance: { ...shiftedPerformance(), realized: null, cohort: { ...shiftedPerformance().cohort, labelled: 0 } } }));
    assert.match(t, /No labelled prediction has matured yet: realized metrics need 100 labelled predictions/);
  });

  it('needs nothing from outside: inline CSS, no script, no external link, a viewport for phones', () => {
    const html = page(shifted);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(html, /<style>[^<]+<\/style>/);
    assert.doesNotMatch(html, /<script|<link|src=|url\(|@import|https?:\/\//);
    assert.match(html, /@media \(max-width:640px\)/);
    assert.match(html, /<meta http-equiv="refresh" content="30; url=\/status\?model=credit-default">/);
  });

  it('escapes every text from the report', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const html = page({ ...shifted, model: evil, summary: { ...shifted.summary, critical: [`feature ${evil}: "quoted" & more`] } });
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /&quot;quoted&quot; &amp; more/);
  });
});

function shiftedPerformance() {
  return shifted.performance!;
}
