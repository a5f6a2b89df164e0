// `vigia drift` on 30,000 × 23 reference rows against 1,000,000 × 23 current rows, with the
// demo bundle (both files scored by the model too). Reference: the UCI data
// (datasets/uci_credit_default.csv). Writes
// bench/results/drift-cli.json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'vigia-drift-cli-'));
const uci = resolve(ROOT, 'datasets', 'uci_credit_default.csv');
const sample = readFileSync(join(ROOT, 'models', 'credit-default', 'reference.csv'), 'utf8').trim().split('\n');
const header = sample[0]!;
const body = sample.slice(1);
const reference = join(dir, 'reference.csv');
// The source file: quoted header with an ID column first, and 5e+05-style numbers.
writeFileSync(reference, readFileSync(uci, 'utf8'));
const current = join(dir, 'current.csv');
const lines: string[] = [header];
for (let i = 0; i < 1_000_000; i++) lines.push(body[(i * 7919) % body.length]!);
writeFileSync(current, lines.join('\n') + '\n');
lines.length = 0;

const runs: number[] = [];
let rss = 0;
let status = '';
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(ROOT, 'bin', 'vigia.js'), 'drift', '--reference', reference, '--current', current, '--bundle', join(ROOT, 'models', 'credit-default'), '--json'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  runs.push((performance.now() - t0) / 1000);
  if (r.status !== 0 && r.status !== 1) throw new Error(`vigia drift exited ${r.status}: ${r.stderr}`);
  rss = Math.max(rss, Number(r.stderr.trim().split('\n').at(-1)) / 1024);
  status = (JSON.parse(r.stdout) as { summary: { status: string } }).summary.status;
  process.stderr.write(`  rep ${rep + 1}: ${runs[rep]!.toFixed(2)} s, status ${status}\n`);
}
const result = { date: new Date().toISOString(), reference: 'UCI 30,000 rows', current_rows: 1_000_000, features: 23, seconds: runs, median_seconds: [...runs].sort((a, b) => a - b)[1], peak_rss_mb: Math.round(rss), status };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'drift-cli.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
