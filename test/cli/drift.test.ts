import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEMO_MODELS, tempDir } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';

/** A literal string as a regular expression. */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const tmp = tempDir('vigia-cli-drift-');
after(() => tmp.remove());

const bundle = join(DEMO_MODELS, 'credit-default');
const [header, ...rows] = readFileSync(join(bundle, 'reference.csv'), 'utf8').trimEnd().split('\n');
const limitBal = header!.split(',').indexOf('LIMIT_BAL');

let serial = 0;
function csv(lines: readonly string[]): string {
  const file = join(tmp.dir, `f${++serial}.csv`);
  writeFileSync(file, [header, ...lines].join('\n') + '\n');
  return file;
}

const reference = csv(rows.filter((_, i) => i % 2 === 0));
const current = csv(rows.filter((_, i) => i % 2 === 1));
const shifted = csv(rows.filter((_, i) => i % 2 === 1).map((l) => l.split(',').map((v, k) => (k === limitBal ? String(Number(v) * 3) : v)).join(',')));

const drift = (args: string[]) => runVigiaCommand(['drift', ...args]);

describe('vigia drift', () => {
  it('prints a table with every column and a HEALTHY status, and exits 0, on two halves of the reference', async () => {
    const r = await drift(['--reference', reference, '--current', current, '--bundle', bundle]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^column +kind +n_ref +n_cur +PSI +KS D +KS p +chi² p +missing % +severity$/m);
    assert.match(r.stdout, /^LIMIT_BAL +numeric +2500 +2500 +0\.\d{3} .* ok$/m);
    assert.match(r.stdout, /^SEX +categorical +2500 +2500 /m);
    assert.match(r.stdout, /^prediction drift \(decision threshold 0.2\)$/m);
    assert.match(r.stdout, /^ {2}mean probability +0\.\d{4} vs reference 0\.\d{4} \([+-]\d+\.\d %\) +ok$/m);
    assert.match(r.stdout, /^HEALTHY: 0 critical, 0 warnings over 23 columns and the prediction$/m);
    assert.match(r.output, new RegExp(`^vigia: current ${literal(current)}: 2500 rows read in \\d+\\.\\d\\d s$`, 'm'));
    assert.match(r.output, new RegExp(`^vigia: reference ${literal(reference)}: 2500 rows scored in \\d+\\.\\d\\d s$`, 'm'));
    assert.doesNotMatch(r.stdout, /rows read/, 'progress goes to stderr');
  });

  it('exits 1 and names the shifted column as critical when LIMIT_BAL is tripled', async () => {
    const r = await drift(['--reference', reference, '--current', shifted, '--bundle', bundle]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stdout, /^LIMIT_BAL +numeric .* critical$/m);
    assert.match(r.stdout, /^CRITICAL: 1 critical, /m);
    assert.match(r.stdout, /^ {2}critical +feature LIMIT_BAL: PSI \d+\.\d{3} ≥ 0.25; KS p=/m);
  });

  it('prints JSON with the documented keys and nothing else on stdout with --json', async () => {
    const r = await drift(['--reference', reference, '--current', shifted, '--bundle', bundle, '--json']);
    assert.equal(r.code, 1, r.output);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    assert.deepEqual(doc['reference'], { file: reference, rows: 2500 });
    assert.deepEqual(doc['current'], { file: shifted, rows: 2500 });
    assert.equal(Object.keys(doc['columns']).length, 23);
    const limit = doc['columns']['LIMIT_BAL'];
    for (const key of ['kind', 'psi', 'ks', 'chi2', 'n_reference', 'n_current', 'missing_rate', 'severity']) assert.ok(key in limit, `LIMIT_BAL lacks ${key}`);
    assert.equal(limit.kind, 'numeric');
    assert.equal(limit.severity, 'critical');
    assert.deepEqual(Object.keys(limit.ks).sort(), ['pvalue', 'pvalue_adjusted', 'statistic']);
    assert.equal(limit.chi2, null);
    assert.deepEqual(Object.keys(doc['columns']['EDUCATION'].chi2).sort(), ['dof', 'pvalue', 'pvalue_adjusted', 'statistic']);
    assert.ok(limit.ks.pvalue_adjusted >= limit.ks.pvalue, 'the adjusted p-value is never below the raw one');
    assert.equal(doc['summary'].status, 'CRITICAL');
    assert.ok(Array.isArray(doc['summary'].critical) && Array.isArray(doc['summary'].warnings));
    assert.equal(typeof doc['prediction'].score_psi, 'number');
    assert.equal(typeof doc['prediction'].mean_probability, 'number');
    assert.equal(typeof doc['prediction'].relative_change, 'number');
    assert.equal(typeof doc['prediction'].positive_rate, 'number');
  });

  it('judges each column alone with --pvalue-correction none: the adjusted p-values are the raw ones', async () => {
    const r = await drift(['--reference', reference, '--current', current, '--bundle', bundle, '--json', '--pvalue-correction', 'none']);
    assert.equal(r.code, 0, r.output);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    for (const c of Object.values(doc['columns']) as any[]) {
      const test = c.ks ?? c.chi2;
      assert.equal(test.pvalue_adjusted, test.pvalue, c.name);
    }
    const wrong = await drift(['--reference', reference, '--current', current, '--pvalue-correction', 'sidak']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.output, /--pvalue-correction <method>' argument 'sidak' is invalid\. Allowed choices are holm, bh, none/);
  });

  it('compares every shared column without a bundle, warning about a column only one file has', async () => {
    const extra = join(tmp.dir, 'extra.csv');
    writeFileSync(extra, [`${header},CHANNEL`, ...rows.filter((_, i) => i % 2 === 1).map((l) => `${l},web`)].join('\n') + '\n');
    const r = await drift(['--reference', reference, '--current', extra, '--json']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`^vigia: warning: column "CHANNEL" skipped: only in the current file ${literal(extra)}$`, 'm'));
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(doc['prediction'], null);
    assert.equal(Object.keys(doc['columns']).length, 24);
    assert.equal(doc['columns']['default.payment.next.month'].kind, 'numeric');
  });

  it('exits 2 naming the file, the line and the column of an unparseable number', async () => {
    const bad = csv(rows.slice(0, 200).map((l, i) => (i === 41 ? l.replace(/^\d+/, '12a') : l)));
    const r = await drift(['--reference', reference, '--current', bad, '--bundle', bundle]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, new RegExp(`^vigia: ${literal(bad)}:43: column "LIMIT_BAL": cannot parse "12a" as a number$`, 'm'));
    assert.equal(r.stdout, '');
  });

  it('exits 2 on a missing file and on a usage error', async () => {
    const missing = join(tmp.dir, 'nope.csv');
    const r = await drift(['--reference', missing, '--current', current]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, new RegExp(`^vigia: cannot read ${literal(missing)}: no such file or directory$`, 'm'));

    const usage = await drift(['--reference', reference]);
    assert.equal(usage.code, 2, usage.output);
    assert.match(usage.output, /error: required option '--current <file>' not specified/);

    const quantiles = await drift(['--reference', reference, '--current', current, '--quantiles', 'ten']);
    assert.equal(quantiles.code, 2, quantiles.output);
    assert.match(quantiles.output, /option '--quantiles <n>' argument 'ten' is invalid\. expected an integer from 2 to 1000/);
  });
});
