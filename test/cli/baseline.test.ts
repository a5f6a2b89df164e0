import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEMO_MODELS, tempDir } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';

/** A literal string as a regular expression. */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const tmp = tempDir('vigia-cli-baseline-');
after(() => tmp.remove());

const baseline = (args: string[]) => runVigiaCommand(['baseline', ...args]);

describe('vigia baseline', () => {
  it('writes <bundle-dir>/baseline.json and prints what it built', async () => {
    const dir = join(tmp.dir, 'credit-default');
    cpSync(join(DEMO_MODELS, 'credit-default'), dir, { recursive: true });
    const r = await baseline([dir]);
    assert.equal(r.code, 0, r.output);
    const file = join(dir, 'baseline.json');
    const built = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
    assert.equal(built['model'], 'credit-default');
    assert.equal(built['modelVersion'], '1.0.0');
    assert.equal(built['referenceRows'], 5000);
    assert.equal(built['features'].length, 23);
    assert.match(r.stdout, /^baseline of credit-default 1.0.0 from 5000 reference rows \(10 quantiles, top 20 categories\)$/m);
    assert.match(r.stdout, /^ {2}LIMIT_BAL +numeric +10$/m);
    assert.match(r.stdout, /^ {2}SEX +categorical +2$/m);
    assert.match(r.stdout, /^score: mean probability 0\.\d{4}, positive rate 0\.\d{4} at threshold 0.2$/m);
    assert.match(r.stdout, new RegExp(`^written to ${literal(file)}$`, 'm'));
  });

  it('writes where --out says, with the bins asked for, and to stdout with --out -', async () => {
    const out = join(tmp.dir, 'b.json');
    const r = await baseline([join(DEMO_MODELS, 'credit-default'), '--out', out, '--quantiles', '5', '--top-k', '3']);
    assert.equal(r.code, 0, r.output);
    const built = JSON.parse(readFileSync(out, 'utf8')) as Record<string, any>;
    assert.equal(built['quantiles'], 5);
    assert.equal(built['features'].find((f: { name: string }) => f.name === 'EDUCATION').bins.categories.length, 3);
    assert.ok(!existsSync(join(DEMO_MODELS, 'credit-default', 'baseline.json')), 'nothing written into the bundle');

    const piped = await baseline([join(DEMO_MODELS, 'credit-default'), '--out', '-']);
    assert.equal(piped.code, 0, piped.output);
    assert.equal((JSON.parse(piped.stdout) as Record<string, unknown>)['model'], 'credit-default');
    assert.match(piped.output, /^written to standard output$/m);
  });

  it('exits 2 with the bundle error on a bad bundle', async () => {
    const dir = join(tmp.dir, 'bad');
    cpSync(join(DEMO_MODELS, 'credit-default'), dir, { recursive: true });
    const path = join(dir, 'vigia.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.decision.threshold = 'high';
    writeFileSync(path, JSON.stringify(manifest));
    const r = await baseline([dir]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, new RegExp(`^vigia: ${literal(path)}: field "decision.threshold" must be a number from 0 to 1, got "high"$`, 'm'));
    assert.ok(!existsSync(join(dir, 'baseline.json')));
  });
});
