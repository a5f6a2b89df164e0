// `npm run bench:explain`: the cost of explanations on the demo model.
// 1. TreeSHAP alone: µs per explained row over the 5,000 reference rows, by the leaf tables
//    served (FastTreeShap) and by Algorithm 2 (TreeShap, the reference and fallback), reps
//    interleaved; the tables' memory and build time (median of BENCH_REPS builds); against
//    one single-row onnxruntime inference measured in the same process and run.
// 2. /predict with "explain": true on every request against without, on one server, reps
//    interleaved (A B, A B, ...) so a slow spell of this shared host falls on both alike.
// 3. The sampling error of attribution drift's shares: 300 seeded random draws of 2,000 and
//    of 512 rows (a bucket's sample) from the 5,000 reference rows, each draw's shares against
//    those of all 5,000 (total variation).
// Medians of BENCH_REPS (default 5) reps; written to bench/results/explain.json. Figures are
// indicative (the machine is shared) and asserted nowhere.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { readCsvColumns } from '../src/data/csv.js';
import { attributionShift, shares, type RowExplainer } from '../src/explain/attribution-drift.js';
import { coversFromSample } from '../src/explain/covers.js';
import { FastTreeShap } from '../src/explain/fast-tree-shap.js';
import { readTreeEnsemble } from '../src/explain/onnx-trees.js';
import { TreeShap } from '../src/explain/tree-shap.js';
import { loadBundle } from '../src/model/bundle.js';
import { demoRows } from '../test/helpers/demo-rows.js';
import { median, startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);

async function treeShapAlone(): Promise<Record<string, unknown>> {
  const model = await loadBundle(join(ROOT, 'models', 'credit-default'));
  try {
    if (!model.explainer.available) throw new Error(model.explainer.reason);
    const names = model.manifest.features.map((f) => f.name);
    const csv = await readCsvColumns(join(model.dir, model.manifest.referenceFile), { numeric: names });
    const width = names.length;
    const rows = new Float32Array(csv.rows * width);
    names.forEach((n, j) => {
      const col = csv.columns.get(n);
      if (col?.kind !== 'numeric') throw new Error(`${n} is not numeric`);
      for (let i = 0; i < csv.rows; i++) rows[i * width + j] = col.values[i]!;
    });
    // The two algorithms on the same ensemble and covers as the served explainer.
    const ensemble = readTreeEnsemble(new Uint8Array(readFileSync(join(model.dir, model.manifest.model!.file))), {
      probabilityOutput: model.manifest.model!.probabilityOutput, positiveClassIndex: model.manifest.model!.positiveClassIndex,
    });
    const covers = coversFromSample(ensemble, rows, csv.rows, width);
    const algorithm2 = new TreeShap(ensemble, covers, width);
    const out = new Float64Array(width);
    // Wall time, and the process's CPU time (steadier on a loaded host: time spent descheduled is not counted).
    const cpuUs = () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
    const perRow = (shap: { explainInto: (r: Float32Array, o: number, out: Float64Array) => number }, n: number, cpu: number[]) => {
      const t = process.hrtime.bigint();
      const c = cpuUs();
      for (let i = 0; i < n; i++) shap.explainInto(rows, i * width, out);
      cpu.push((cpuUs() - c) / n);
      return Number(process.hrtime.bigint() - t) / 1e3 / n;
    };
    const tablesCpuUs: number[] = [];
    const algorithm2CpuUs: number[] = [];
    const explainUs: number[] = [];
    const tablesUs: number[] = [];
    const algorithm2Us: number[] = [];
    const inferUs: number[] = [];
    const buildMs: number[] = [];
    let tables: FastTreeShap | undefined;
    for (let rep = 0; rep < REPS; rep++) {
      tables = new FastTreeShap(ensemble, covers, width);
      buildMs.push(tables.stats.buildMs);
      let t = process.hrtime.bigint();
      for (let i = 0; i < csv.rows; i++) model.explainer.explain(rows, i);
      explainUs.push(Number(process.hrtime.bigint() - t) / 1e3 / csv.rows);
      tablesUs.push(perRow(tables, csv.rows, tablesCpuUs));
      algorithm2Us.push(perRow(algorithm2, csv.rows, algorithm2CpuUs));
      t = process.hrtime.bigint();
      const n = 1000;
      for (let i = 0; i < n; i++) await model.scorer!.score(rows.subarray(i * width, (i + 1) * width), 1);
      inferUs.push(Number(process.hrtime.bigint() - t) / 1e3 / n);
      console.log(`  rep ${rep + 1}/${REPS}: leaf tables ${tablesUs.at(-1)!.toFixed(1)} µs/row (with reasons ${explainUs.at(-1)!.toFixed(1)}), Algorithm 2 ${algorithm2Us.at(-1)!.toFixed(1)} µs/row (CPU ${tablesCpuUs.at(-1)!.toFixed(1)} vs ${algorithm2CpuUs.at(-1)!.toFixed(1)}), tables built in ${buildMs.at(-1)!.toFixed(1)} ms, onnxruntime single-row inference ${inferUs.at(-1)!.toFixed(1)} µs`);
    }
    const stats = tables!.stats;
    const sampling = samplingError(model.explainer, rows, csv.rows, width);
    return {
      sampling_error_total_variation: sampling,
      model: model.explainer.source,
      rows: csv.rows,
      treeshap_us_per_row: Number(median(explainUs).toFixed(1)),
      leaf_tables_us_per_row: Number(median(tablesUs).toFixed(1)),
      algorithm2_us_per_row: Number(median(algorithm2Us).toFixed(1)),
      ratio_algorithm2_vs_leaf_tables: Number((median(algorithm2Us) / median(tablesUs)).toFixed(2)),
      leaf_tables_cpu_us_per_row: Number(median(tablesCpuUs).toFixed(1)),
      algorithm2_cpu_us_per_row: Number(median(algorithm2CpuUs).toFixed(1)),
      ratio_algorithm2_vs_leaf_tables_cpu: Number((median(algorithm2CpuUs) / median(tablesCpuUs)).toFixed(2)),
      leaf_tables: { bytes: stats.bytes, build_ms: Number(median(buildMs).toFixed(1)), trees: stats.trees, fallback_trees: stats.fallbackTrees, leaves: stats.leaves, max_path_features: stats.maxPathFeatures },
      onnxruntime_single_row_inference_us: Number(median(inferUs).toFixed(1)),
      ratio_treeshap_vs_inference: Number((median(explainUs) / median(inferUs)).toFixed(2)),
      runs_us: explainUs.map((x) => Number(x.toFixed(1))),
      runs_algorithm2_us: algorithm2Us.map((x) => Number(x.toFixed(1))),
    };
  } finally {
    await model.scorer!.close();
  }
}

/** Total variation between the shares of random draws of k rows and the shares of all rows: median and 99th percentile of 300 draws. */
function samplingError(explainer: RowExplainer, rows: Float32Array, n: number, width: number): Record<string, { median: number; p99: number }> {
  const abs: Float64Array[] = [];
  const phi = new Float64Array(width);
  for (let i = 0; i < n; i++) {
    explainer.explainInto(rows, i * width, phi);
    abs.push(phi.map(Math.abs));
  }
  const sharesOf = (idx: ArrayLike<number>) => {
    const sum = new Float64Array(width);
    for (let r = 0; r < idx.length; r++) for (let j = 0; j < width; j++) sum[j]! += abs[idx[r]!]![j]!;
    return shares(sum);
  };
  const all = sharesOf(Int32Array.from({ length: n }, (_, i) => i));
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out: Record<string, { median: number; p99: number }> = {};
  for (const k of [2000, 512]) {
    const tv: number[] = [];
    for (let draw = 0; draw < 300; draw++) {
      const perm = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      tv.push(attributionShift(all, sharesOf(perm.subarray(0, k))));
    }
    tv.sort((a, b) => a - b);
    out[`rows_${k}`] = { median: Number(tv[150]!.toFixed(4)), p99: Number(tv[296]!.toFixed(4)) };
  }
  console.log(`  sampling error (total variation of a draw's shares from all ${n} rows'): ${JSON.stringify(out)}`);
  return out;
}

interface Run { rps: number; p50: number; p99: number; errors: number }

async function load(url: string, bodies: string[], seconds: number): Promise<Run> {
  let i = 0;
  const r = await autocannon({
    url: `${url}/predict`, connections: 32, duration: seconds,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length]! }) }],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

async function predictWithAndWithout(): Promise<Record<string, unknown>> {
  const rows = demoRows(200);
  const bodies = { explain_off: rows.map((r) => JSON.stringify({ features: r })), explain_on: rows.map((r) => JSON.stringify({ features: r, explain: true })) };
  const runs: Record<keyof typeof bodies, Run[]> = { explain_off: [], explain_on: [] };
  const server = await startServer('explain', [], {});
  try {
    await load(server.url, bodies.explain_off, 2); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      for (const k of ['explain_off', 'explain_on'] as const) {
        const run = await load(server.url, bodies[k], SECONDS);
        runs[k].push(run);
        console.log(`  rep ${rep + 1}/${REPS} ${k}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, errors ${run.errors}`);
      }
    }
  } finally {
    await stopServer(server);
  }
  const summary = (rs: Run[]) => ({ requests_per_s: Math.round(median(rs.map((r) => r.rps))), p50_ms: median(rs.map((r) => r.p50)), p99_ms: median(rs.map((r) => r.p99)), errors: rs.reduce((n, r) => n + r.errors, 0) });
  const off = summary(runs.explain_off);
  const on = summary(runs.explain_on);
  return {
    what: 'single-row POST /predict, 32 connections, audit log on (synchronous=FULL); explain_on sends "explain": true on every request (every row explained and its reasons stored), explain_off sends none (rows with decision 1 are still explained for their reasons)',
    explain_off: off,
    explain_on: on,
    throughput_on_vs_off: Number((on.requests_per_s / off.requests_per_s).toFixed(3)),
    p99_on_vs_off: Number((on.p99_ms / off.p99_ms).toFixed(3)),
  };
}

const only = process.argv.slice(2);
console.log(`bench: ${REPS} reps on ${cpus().length} cores, node ${process.version}`);
const result = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
  reps: REPS,
  treeshap: only.length === 0 || only.includes('treeshap') ? await treeShapAlone() : undefined,
  predict: only.length === 0 || only.includes('predict') ? await predictWithAndWithout() : undefined,
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'explain.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify({ treeshap: result.treeshap, predict: result.predict }, null, 2));
console.log('written to bench/results/explain.json');
