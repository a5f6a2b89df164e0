// Builds the monitor-only test bundle test/fixtures/monitor-only/credit-default-observed/
// from the demo bundle: the same manifest without "model" (named credit-default-observed,
// with reference.score_column "score" and a KServe "serving" stanza), and the demo's
// reference and calibration samples with the demo model's probability appended as the
// "score" column. So the monitor-only bundle's baseline equals the demo model's, and a test
// can compare traffic ingested into one with the same traffic scored by the other.
//
// Usage: node --import tsx tools/build-monitor-only-bundle.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCsvColumns } from '../src/data/csv.js';
import { scoreColumns } from '../src/drift/reference.js';
import { loadBundle } from '../src/model/bundle.js';

const root = resolve(import.meta.dirname, '..');
const demo = join(root, 'models', 'credit-default');
const out = join(root, 'test', 'fixtures', 'monitor-only', 'credit-default-observed');
mkdirSync(out, { recursive: true });

const model = await loadBundle(demo);
const names = model.manifest.features.map((f) => f.name);
for (const file of ['reference.csv', 'calibration.csv']) {
  const path = join(demo, file);
  const csv = await readCsvColumns(path, { numeric: names, required: names });
  const columns = new Map(names.map((n) => [n, (csv.columns.get(n) as { values: Float64Array }).values]));
  const scores = await scoreColumns(model.scorer!, names, columns, csv.rows);
  const lines = readFileSync(path, 'utf8').replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== csv.rows + 1) throw new Error(`${path}: ${lines.length - 1} lines but ${csv.rows} rows`);
  const text = [`${lines[0]},score`, ...lines.slice(1).map((line, i) => `${line},${scores[i]}`)].join('\n');
  writeFileSync(join(out, file), `${text}\n`);
  process.stdout.write(`${file}: ${csv.rows} rows scored\n`);
}
await model.scorer!.close();

const manifest = JSON.parse(readFileSync(join(demo, 'vigia.json'), 'utf8')) as Record<string, unknown>;
delete manifest['model'];
manifest['name'] = 'credit-default-observed';
manifest['description'] = 'Monitor-only test bundle: the demo credit-default model served elsewhere; its reference carries the model\'s score. Built by tools/build-monitor-only-bundle.ts.';
manifest['reference'] = { ...(manifest['reference'] as object), score_column: 'score' };
manifest['serving'] = { output: 'probabilities', column: 1 };
writeFileSync(join(out, 'vigia.json'), `${JSON.stringify(manifest, null, 2)}\n`);
