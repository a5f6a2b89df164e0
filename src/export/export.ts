import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { ExportRow } from '../store/export-rows.js';

export type ExportFormat = 'csv' | 'parquet';

/** Rows gathered before they are written: one CSV chunk, one Parquet row group. */
export const EXPORT_CHUNK_ROWS = 50_000;

export interface ExportProgress {
  readonly rows: number;
  readonly seconds: number;
}

/** The columns before and after the features, in the exported file. */
const LEADING = ['prediction_id', 'event_time_ms', 'decision_time_ms'] as const;
const TRAILING = ['probability', 'decision', 'band', 'threshold', 'label', 'label_time_ms', 'bundle_hash'] as const;

/** One chunk of rows as columns: the features by name, NaN-free (null where missing). */
interface Chunk {
  readonly ids: string[];
  readonly eventTs: number[];
  readonly ts: number[];
  readonly features: (number | null)[][];
  readonly probability: number[];
  readonly decision: number[];
  readonly band: string[];
  readonly threshold: number[];
  readonly label: (number | null)[];
  readonly labelTs: (number | null)[];
  readonly bundleHash: string[];
}

const emptyChunk = (width: number): Chunk => ({
  ids: [], eventTs: [], ts: [], features: Array.from({ length: width }, () => []), probability: [], decision: [], band: [], threshold: [], label: [], labelTs: [], bundleHash: [],
});

/** Writes one chunk; `finish` completes the file. */
interface ChunkWriter {
  write(c: Chunk): Promise<void>;
  finish(): Promise<void>;
}

const csvCell = (v: string | number | null): string => {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
};

async function writeText(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

function csvWriter(path: string, features: readonly string[]): ChunkWriter {
  const out = createWriteStream(path);
  let headed = false;
  return {
    async write(c) {
      const lines: string[] = headed ? [] : [[...LEADING, ...features, ...TRAILING].map(csvCell).join(',')];
      headed = true;
      for (let i = 0; i < c.ids.length; i++) {
        lines.push([
          c.ids[i]!, c.eventTs[i]!, c.ts[i]!, ...c.features.map((col) => col[i]!),
          c.probability[i]!, c.decision[i]!, c.band[i]!, c.threshold[i]!, c.label[i]!, c.labelTs[i]!, c.bundleHash[i]!,
        ].map(csvCell).join(','));
      }
      await writeText(out, `${lines.join('\n')}\n`);
    },
    async finish() {
      if (!headed) await writeText(out, `${[...LEADING, ...features, ...TRAILING].join(',')}\n`);
      out.end();
      await once(out, 'finish');
    },
  };
}

function parquetColumns(c: Chunk, features: readonly string[]) {
  return [
    { name: 'prediction_id', data: c.ids, type: 'STRING' as const, nullable: false },
    { name: 'event_time_ms', data: c.eventTs, type: 'INT64' as const, nullable: false },
    { name: 'decision_time_ms', data: c.ts, type: 'INT64' as const, nullable: false },
    ...features.map((name, j) => ({ name, data: c.features[j]!, type: 'DOUBLE' as const })),
    { name: 'probability', data: c.probability, type: 'DOUBLE' as const, nullable: false },
    { name: 'decision', data: c.decision, type: 'INT32' as const, nullable: false },
    { name: 'band', data: c.band, type: 'STRING' as const, nullable: false },
    { name: 'threshold', data: c.threshold, type: 'DOUBLE' as const, nullable: false },
    { name: 'label', data: c.label, type: 'INT32' as const },
    { name: 'label_time_ms', data: c.labelTs, type: 'INT64' as const },
    { name: 'bundle_hash', data: c.bundleHash, type: 'STRING' as const, nullable: false },
  ];
}

/**
 * Parquet through hyparquet-writer's incremental `ParquetWriter`: each chunk is written as
 * one row group and flushed to the file (its 1 MB buffer), so memory holds one chunk.
 * INT64 columns take BigInt values.
 */
function parquetWriter(path: string, features: readonly string[]): ChunkWriter {
  const writer = fileWriter(path);
  const schema = schemaFromColumnData({ columnData: parquetColumns(emptyChunk(features.length), features) });
  const pq = new ParquetWriter({ writer, schema, kvMetadata: [{ key: 'vigia.export', value: 'predictions with their labels' }] });
  return {
    async write(c) {
      const big = (xs: (number | null)[]) => xs.map((x) => (x === null ? null : BigInt(x)));
      const columns = parquetColumns({ ...c, eventTs: big(c.eventTs) as never, ts: big(c.ts) as never, labelTs: big(c.labelTs) as never }, features);
      await pq.write({ columnData: columns, rowGroupSize: c.ids.length });
    },
    async finish() {
      pq.finish();
    },
  };
}

export interface ExportOptions {
  /** SQLite's reader is synchronous, PostgreSQL's asynchronous (a cursor fetched in batches). */
  readonly rows: Iterable<ExportRow> | AsyncIterable<ExportRow>;
  readonly out: string;
  readonly format: ExportFormat;
  /** Called after each chunk, for the progress line. */
  readonly onProgress?: (p: ExportProgress) => void;
  readonly chunkRows?: number;
}

/**
 * Streams rows into a CSV or Parquet file, one chunk at a time: memory holds one chunk,
 * whatever the number of rows. The feature columns are the features of the first row, in
 * its order (every row of a model version has the same features, validated at predict).
 * Resolves with the number of rows and the feature names.
 */
export async function exportPredictions(opts: ExportOptions): Promise<{ rows: number; features: readonly string[] }> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const chunkRows = opts.chunkRows ?? EXPORT_CHUNK_ROWS;
  let features: string[] | undefined;
  let writer: ChunkWriter | undefined;
  let chunk: Chunk | undefined;
  let rows = 0;
  const flush = async () => {
    if (chunk === undefined || chunk.ids.length === 0) return;
    await writer!.write(chunk);
    chunk = emptyChunk(features!.length);
    opts.onProgress?.({ rows, seconds: seconds() });
  };
  for await (const [id, eventTs, ts, featureJson, probability, decision, band, threshold, bundleHash, label, labelTs] of opts.rows) {
    const values = JSON.parse(featureJson) as Record<string, number | null>;
    if (features === undefined) {
      features = Object.keys(values);
      writer = opts.format === 'csv' ? csvWriter(opts.out, features) : parquetWriter(opts.out, features);
      chunk = emptyChunk(features.length);
    }
    const c = chunk!;
    c.ids.push(id);
    c.eventTs.push(eventTs);
    c.ts.push(ts);
    features.forEach((f, j) => c.features[j]!.push(values[f] ?? null));
    c.probability.push(probability);
    c.decision.push(decision);
    c.band.push(band);
    c.threshold.push(threshold);
    c.label.push(label);
    c.labelTs.push(labelTs);
    c.bundleHash.push(bundleHash);
    rows++;
    if (c.ids.length >= chunkRows) await flush();
  }
  if (writer === undefined) {
    // No row: a CSV with the fixed columns only; Parquet needs the feature columns, so it is refused by the caller.
    features = [];
    writer = opts.format === 'csv' ? csvWriter(opts.out, features) : parquetWriter(opts.out, features);
  }
  await flush();
  await writer.finish();
  opts.onProgress?.({ rows, seconds: seconds() });
  return { rows, features: features ?? [] };
}
