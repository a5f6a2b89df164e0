import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { exportPredictions } from '../../src/export/export.js';
import { ExportReader } from '../../src/store/export-rows.js';
import { buildTestApp, tempDir, type TestApp } from '../helpers/app.js';
import { demoLabelledRows } from '../helpers/demo-rows.js';
import { runVigiaCommand } from '../helpers/process.js';

const MODEL = 'credit-default';
const ROWS = demoLabelledRows(250);

describe('export for retraining', () => {
  const tmp = tempDir('vigia-export-');
  let t: TestApp;
  const ids: string[] = [];
  const probabilities = new Map<string, number>();
  let ts = 0;

  before(async () => {
    t = await buildTestApp();
    const res = await request(t.app).post('/predict').send({ instances: ROWS.map((r) => r.features) }).expect(200);
    for (const p of res.body.predictions as { prediction_id: string; probability: number }[]) {
      ids.push(p.prediction_id);
      probabilities.set(p.prediction_id, p.probability);
    }
    // Labels for the first 200 only: the last 50 export with an empty label.
    await request(t.app).post('/v1/labels').send({ labels: ids.slice(0, 200).map((id, i) => ({ prediction_id: id, label: ROWS[i]!.label })) }).expect(200);
    ts = t.db.prepare('SELECT max(event_ts_ms) FROM predictions').pluck().get() as number;
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  const rows = () => new ExportReader(t.db).iterate(MODEL, '1.0.0', 0, ts + 1);

  it('round-trips through CSV: every row, its features, probability, decision and label', async () => {
    const out = join(tmp.dir, 'a.csv');
    const progress: number[] = [];
    const r = await exportPredictions({ rows: rows(), out, format: 'csv', chunkRows: 100, onProgress: (p) => progress.push(p.rows) });
    assert.equal(r.rows, 250);
    assert.deepEqual(progress, [100, 200, 250, 250]);
    const [header, ...lines] = readFileSync(out, 'utf8').trimEnd().split('\n');
    const cols = header!.split(',');
    assert.deepEqual(cols.slice(0, 4), ['prediction_id', 'event_time_ms', 'decision_time_ms', 'LIMIT_BAL']);
    assert.deepEqual(cols.slice(-7), ['probability', 'decision', 'band', 'threshold', 'label', 'label_time_ms', 'bundle_hash']);
    assert.equal(lines.length, 250);
    const byId = new Map(lines.map((l) => {
      const cells = l.split(',');
      return [cells[0]!, Object.fromEntries(cols.map((c, i) => [c, cells[i]!]))];
    }));
    ROWS.forEach((row, i) => {
      const got = byId.get(ids[i]!)!;
      for (const [f, v] of Object.entries(row.features)) assert.equal(Number(got[f]), v, `${ids[i]} ${f}`);
      assert.equal(Number(got['probability']), probabilities.get(ids[i]!));
      assert.equal(got['label'], i < 200 ? String(row.label) : '');
      assert.equal(got['bundle_hash'], t.registry.get(MODEL)!.contentHash);
    });
  });

  it('round-trips through Parquet, one row group per chunk, read back with hyparquet', async () => {
    const out = join(tmp.dir, 'a.parquet');
    await exportPredictions({ rows: rows(), out, format: 'parquet', chunkRows: 100 });
    const file = await asyncBufferFromFile(out);
    const meta = await parquetMetadataAsync(file);
    assert.deepEqual(meta.row_groups.map((g) => Number(g.num_rows)), [100, 100, 50]);
    const objects = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    assert.equal(objects.length, 250);
    const byId = new Map(objects.map((o) => [o['prediction_id'] as string, o]));
    ROWS.forEach((row, i) => {
      const got = byId.get(ids[i]!)!;
      for (const [f, v] of Object.entries(row.features)) assert.equal(got[f], v, `${ids[i]} ${f}`);
      assert.equal(got['probability'], probabilities.get(ids[i]!));
      assert.equal(got['label'], i < 200 ? row.label : null);
      assert.equal(typeof got['event_time_ms'], 'bigint');
    });
  });

  it('runs as `vigia export` with a progress line, and refuses a model the log does not hold', async () => {
    const out = join(tmp.dir, 'cli.parquet');
    const run = await runVigiaCommand(['export', '--model', MODEL, '--from', '0', '--out', out, '--db', t.dbPath]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /vigia: exporting credit-default 1\.0\.0 from 1970-01-01T00:00:00\.000Z to .* \(parquet\)/);
    assert.match(run.output, /vigia: 250 rows exported in [\d.]+ s \([\d,]+ rows\/s, peak RSS \d+ MB\)/);
    assert.match(run.output, /vigia: wrote 250 rows \(23 features, probability, decision, label\) to .*cli\.parquet/);
    const objects = await parquetReadObjects({ file: await asyncBufferFromFile(out) });
    assert.equal(objects.length, 250);
    const missing = await runVigiaCommand(['export', '--model', 'nope', '--out', join(tmp.dir, 'x.csv'), '--db', t.dbPath]);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /--model "nope": has no prediction in /);
    const badTime = await runVigiaCommand(['export', '--model', MODEL, '--from', 'yesterday', '--out', join(tmp.dir, 'x.csv'), '--db', t.dbPath]);
    assert.equal(badTime.code, 2);
    assert.match(badTime.output, /--from "yesterday": expected an ISO 8601 time/);
  });
});
