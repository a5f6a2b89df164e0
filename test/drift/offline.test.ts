import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CsvError } from '../../src/data/csv.js';
import { offlineDrift, type OfflineDriftResult, type ProgressEvent } from '../../src/drift/offline.js';
import { loadBundle, type LoadedModel } from '../../src/model/bundle.js';
import { DEMO_MODELS } from '../helpers/app.js';

const dir = mkdtempSync(join(tmpdir(), 'vigia-offline-'));
const bundleDir = join(DEMO_MODELS, 'credit-default');
const [header, ...rows] = readFileSync(join(bundleDir, 'reference.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split(','));
const names = header!;
/** Even rows are the reference, odd rows the current sample: two draws from one distribution. */
const evens = rows.filter((_, i) => i % 2 === 0);
const odds = rows.filter((_, i) => i % 2 === 1);

let serial = 0;
/** Writes a temp CSV file and returns its path. */
function csv(head: readonly string[], body: readonly (readonly string[])[]): string {
  const file = join(dir, `f${++serial}.csv`);
  writeFileSync(file, [head, ...body].map((r) => r.join(',')).join('\n') + '\n');
  return file;
}

/** The rows with one column replaced. */
function mapColumn(body: readonly string[][], name: string, f: (value: string, i: number) => string): string[][] {
  const j = names.indexOf(name);
  return body.map((r, i) => r.map((v, k) => (k === j ? f(v, i) : v)));
}

const column = (result: OfflineDriftResult, name: string) => {
  const c = result.columns.find((x) => x.name === name);
  assert.ok(c !== undefined, `no column ${name} in ${result.columns.map((x) => x.name).join(', ')}`);
  return c;
};

let model: LoadedModel;
before(async () => {
  model = await loadBundle(bundleDir);
});
after(async () => {
  await model.scorer!.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('offlineDrift with a model bundle', () => {
  it('finds nothing critical between two halves of the reference sample, and scores both', async () => {
    const events: ProgressEvent[] = [];
    const r = await offlineDrift({ reference: csv(names, evens), current: csv(names, odds), model, onProgress: (e) => events.push(e) });
    assert.notEqual(r.summary.status, 'CRITICAL', JSON.stringify(r.summary));
    assert.deepEqual(r.summary.critical, []);
    assert.deepEqual(r.columns.map((c) => c.name), model.manifest.features.map((f) => f.name));
    assert.deepEqual(r.model, { name: 'credit-default', version: '1.0.0' });
    assert.equal(r.reference.rows, 2500);
    assert.equal(r.current.rows, 2500);
    assert.equal(column(r, 'SEX').kind, 'categorical', 'a binary feature is categorical');
    assert.equal(column(r, 'LIMIT_BAL').kind, 'numeric');
    const p = r.prediction;
    assert.ok(p !== null);
    assert.equal(p.threshold, 0.2);
    assert.ok(Math.abs(p.relative_change!) < 0.1, `relative change ${p.relative_change}`);
    assert.ok(p.reference_mean_probability > 0.1 && p.reference_mean_probability < 0.4);
    assert.deepEqual(events.map((e) => `${e.stage} ${e.role} ${e.rows}`), ['read reference 2500', 'read current 2500', 'score reference 2500', 'score current 2500']);
  });

  it('flags LIMIT_BAL as critical when the current file triples it, and only LIMIT_BAL', async () => {
    const shifted = mapColumn(odds, 'LIMIT_BAL', (v) => String(Number(v) * 3));
    const r = await offlineDrift({ reference: csv(names, evens), current: csv(names, shifted), model });
    const limit = column(r, 'LIMIT_BAL');
    assert.equal(limit.severity, 'critical');
    assert.ok(limit.psi! >= 0.25, `PSI ${limit.psi}`);
    assert.ok(limit.ks!.pvalue < 0.01);
    assert.equal(r.summary.status, 'CRITICAL');
    assert.match(r.summary.critical.join('\n'), /LIMIT_BAL: PSI/);
    for (const c of r.columns.filter((x) => x.name !== 'LIMIT_BAL')) assert.notEqual(c.severity, 'critical', c.name);
  });

  it("ignores columns the model does not use and names a feature the current file lacks", async () => {
    const extra = csv([...names, 'NOTE'], odds.map((r) => [...r, 'free text']));
    const r = await offlineDrift({ reference: csv(names, evens), current: extra, model });
    assert.ok(!r.columns.some((c) => c.name === 'NOTE' || c.name === 'default.payment.next.month'));
    assert.deepEqual(r.skipped, []);

    const j = names.indexOf('PAY_AMT6');
    const lacking = csv(names.filter((_, k) => k !== j), odds.map((row) => row.filter((_, k) => k !== j)));
    await assert.rejects(offlineDrift({ reference: csv(names, evens), current: lacking, model }), (err: unknown) => {
      assert.ok(err instanceof CsvError);
      assert.match(err.message, new RegExp(`^${lacking.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: missing required column "PAY_AMT6"; the header has "LIMIT_BAL"`));
      return true;
    });
  });

  it('names the file, the line and the column of an unparseable number', async () => {
    const bad = mapColumn(odds, 'AGE', (v, i) => (i === 9 ? '4O' : v));
    const current = csv(names, bad);
    await assert.rejects(offlineDrift({ reference: csv(names, evens), current, model }), {
      name: 'CsvError',
      message: `${current}:11: column "AGE": cannot parse "4O" as a number`,
    });
  });

  it('lets the caller raise the minimum window: too few rows is insufficient data, not drift', async () => {
    const shifted = mapColumn(odds, 'LIMIT_BAL', (v) => String(Number(v) * 3));
    const r = await offlineDrift({ reference: csv(names, evens), current: csv(names, shifted), model, thresholds: { minWindow: 10_000 } });
    assert.equal(r.thresholds.minWindow, 10_000);
    assert.equal(column(r, 'LIMIT_BAL').severity, 'insufficient_data');
    assert.equal(r.summary.status, 'NO_VERDICT', 'too few rows is no verdict, not HEALTHY');
  });
});

describe('offlineDrift without a bundle', () => {
  const REGIONS = ['north', 'south', 'east', 'west'];
  const withRegion = (body: string[][], region: (i: number) => string) => body.map((r, i) => [...r, region(i)]);

  it('compares every shared column: numeric when numeric in both files, else categorical text', async () => {
    const reference = csv([...names, 'REGION', 'ZIP'], evens.map((r, i) => [...r, REGIONS[i % 4]!, i % 2 === 0 ? '007' : '008']));
    // ZIP looks numeric in the reference and is text in the current file: both are compared as text.
    const current = csv([...names, 'REGION', 'ZIP'], odds.map((r, i) => [...r, REGIONS[i % 4]!, i === 5 ? 'n/a' : i % 2 === 0 ? '007' : '008']));
    const r = await offlineDrift({ reference, current });
    assert.equal(r.model, null);
    assert.equal(r.prediction, null);
    assert.deepEqual(r.columns.map((c) => c.name), [...names, 'REGION', 'ZIP']);
    assert.equal(column(r, 'LIMIT_BAL').kind, 'numeric');
    assert.equal(column(r, 'default.payment.next.month').kind, 'numeric');
    const region = column(r, 'REGION');
    assert.equal(region.kind, 'categorical');
    assert.equal(region.ks, null);
    assert.ok(region.chi2 !== null && region.chi2.pvalue > 0.5, JSON.stringify(region.chi2));
    const zip = column(r, 'ZIP');
    assert.equal(zip.kind, 'categorical');
    // Read as text, '007' in the reference is the same category as '007' in the current file.
    assert.ok(zip.psi! < 0.01, `ZIP PSI ${zip.psi}`);
    assert.equal(zip.severity, 'ok');
    assert.equal(r.summary.status, 'HEALTHY', JSON.stringify(r.summary));
  });

  it('flags a shifted mix of string categories with the chi-square and the PSI', async () => {
    const reference = csv([...names, 'REGION'], withRegion(evens, (i) => REGIONS[i % 4]!));
    const current = csv([...names, 'REGION'], withRegion(odds, (i) => (i % 4 === 3 ? 'west' : 'north')));
    const r = await offlineDrift({ reference, current });
    const region = column(r, 'REGION');
    assert.equal(region.severity, 'critical');
    assert.ok(region.psi! >= 0.25, `PSI ${region.psi}`);
    assert.ok(region.chi2!.pvalue < 1e-10);
    assert.equal(r.summary.status, 'CRITICAL');
    assert.match(r.summary.critical.join('\n'), /REGION: PSI .*chi-square p=/);
  });

  it('skips a column found in one file only, saying which file has it', async () => {
    const reference = csv([...names, 'BRANCH'], evens.map((r) => [...r, 'b1']));
    const current = csv([...names, 'CHANNEL'], odds.map((r) => [...r, 'web']));
    const r = await offlineDrift({ reference, current });
    assert.ok(!r.columns.some((c) => c.name === 'BRANCH' || c.name === 'CHANNEL'));
    assert.deepEqual(r.skipped, [
      { name: 'BRANCH', reason: `only in the reference ${reference}` },
      { name: 'CHANNEL', reason: `only in the current file ${current}` },
    ]);
  });

  it('skips a column with no value in the reference rather than failing', async () => {
    const reference = csv([...names, 'EMPTY'], evens.map((r) => [...r, '']));
    const current = csv([...names, 'EMPTY'], odds.map((r) => [...r, '3']));
    const r = await offlineDrift({ reference, current });
    assert.ok(!r.columns.some((c) => c.name === 'EMPTY'));
    assert.deepEqual(r.skipped, [{ name: 'EMPTY', reason: `no values in the reference ${reference} (every cell is missing)` }]);
  });

  it('counts missing values per file and reports non-missing counts', async () => {
    const reference = csv(names, evens);
    const current = csv(names, mapColumn(odds, 'AGE', (v, i) => (i % 10 === 0 ? 'NA' : v)));
    const r = await offlineDrift({ reference, current });
    const age = column(r, 'AGE');
    assert.equal(age.n_reference, 2500);
    assert.equal(age.n_current, 2250);
    assert.ok(Math.abs(age.missing_rate - 0.1) < 1e-12);
    assert.equal(age.reference_missing_rate, 0);
  });
});
