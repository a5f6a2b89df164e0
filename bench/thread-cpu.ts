// `npm run bench:threads`: which thread of the service is busy when /predict is saturated.
// Starts bench/server.ts, saturates it with autocannon from this process (single rows on 32
// connections, the same with the audit log off, batches of 100 on 8), and reads every
// thread's CPU time from /proc/<pid>/task before and after BENCH_SECONDS (default 10) of
// load, plus this process's own (the load generator). Reps are interleaved (BENCH_REPS,
// default 3) and reported as medians. It answers what a CPU profile of the main thread
// cannot: whether the event loop is the bottleneck or the machine's cores are. Linux only.
// Results go to stdout and bench/results/thread-cpu.json.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { demoRows } from '../test/helpers/demo-rows.js';
import { median, startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const TICKS_PER_S = 100; // USER_HZ on Linux

const rows = demoRows(200);
const singleBodies = rows.map((r) => JSON.stringify({ features: r }));
const batchBody = JSON.stringify({ instances: rows.slice(0, 100) });

interface Scenario { name: string; args: string[]; batch: boolean }
const SCENARIOS: readonly Scenario[] = [
  { name: 'single_saturated', args: [], batch: false },
  { name: 'single_saturated_no_audit', args: ['--no-audit'], batch: false },
  { name: 'batch100_saturated', args: [], batch: true },
];

/** CPU seconds of every thread of `pid`, by thread id. */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'); } catch { continue; } // the thread ended
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S); // utime, stime
  }
  return out;
}

interface Run { requests_per_s: number; rows_per_s: number; main_cpu: number; busiest_other_cpu: number; other_threads_cpu: number; service_cpu: number; load_generator_cpu: number; main_us_per_request: number; service_us_per_row: number }

async function measure(sc: Scenario): Promise<Run> {
  const server = await startServer(sc.name, sc.args, {});
  try {
    const pid = server.proc.pid!;
    const load = (seconds: number) => {
      let i = 0;
      return autocannon({
        url: `${server.url}/predict`, connections: sc.batch ? 8 : 32, duration: seconds,
        requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: sc.batch ? batchBody : singleBodies[i++ % singleBodies.length]! }) }],
      });
    };
    await load(2); // warm-up
    const before = threadCpu(pid);
    const ownBefore = process.cpuUsage();
    const t0 = performance.now();
    const result = await load(SECONDS);
    const wall = (performance.now() - t0) / 1000;
    const after = threadCpu(pid);
    const own = process.cpuUsage(ownBefore);
    const used = [...after].map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const);
    const main = used.find(([tid]) => tid === pid)?.[1] ?? 0;
    const others = used.filter(([tid]) => tid !== pid).map(([, s]) => s);
    const service = main + others.reduce((a, b) => a + b, 0);
    const requests = result.requests.total;
    const rowsDone = requests * (sc.batch ? 100 : 1);
    return {
      requests_per_s: requests / wall,
      rows_per_s: rowsDone / wall,
      main_cpu: main / wall,
      busiest_other_cpu: Math.max(0, ...others) / wall,
      other_threads_cpu: (service - main) / wall,
      service_cpu: service / wall,
      load_generator_cpu: (own.user + own.system) / 1e6 / wall,
      main_us_per_request: (main / requests) * 1e6,
      service_us_per_row: (service / rowsDone) * 1e6,
    };
  } finally {
    await stopServer(server);
  }
}

const runs = new Map<string, Run[]>(SCENARIOS.map((s) => [s.name, []]));
console.log(`bench:threads: ${REPS} reps × ${SECONDS} s per scenario on ${cpus().length} cores, node ${process.version}`);
for (let rep = 0; rep < REPS; rep++) {
  for (const sc of SCENARIOS) {
    const r = await measure(sc);
    runs.get(sc.name)!.push(r);
    console.log(`  rep ${rep + 1}/${REPS} ${sc.name}: ${r.requests_per_s.toFixed(0)} req/s; main thread ${(r.main_cpu * 100).toFixed(0)} % of a CPU, busiest other ${(r.busiest_other_cpu * 100).toFixed(0)} %, service ${(r.service_cpu * 100).toFixed(0)} %, load generator ${(r.load_generator_cpu * 100).toFixed(0)} %`);
  }
}
const scenarios: Record<string, Record<string, number>> = {};
for (const [name, rs] of runs) {
  const m = (k: keyof Run, digits: number) => Number(median(rs.map((r) => r[k])).toFixed(digits));
  scenarios[name] = {
    requests_per_s: m('requests_per_s', 0), rows_per_s: m('rows_per_s', 0),
    main_thread_cpu: m('main_cpu', 3), busiest_other_thread_cpu: m('busiest_other_cpu', 3), other_threads_cpu: m('other_threads_cpu', 3),
    service_cpu: m('service_cpu', 3), load_generator_cpu: m('load_generator_cpu', 3),
    main_thread_us_per_request: m('main_us_per_request', 1), service_us_per_row: m('service_us_per_row', 1),
  };
}
const summary = { date: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version }, reps: REPS, seconds: SECONDS, cpu_unit: 'share of one CPU (1 = one core busy all the time)', scenarios, runs: Object.fromEntries(runs) };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'thread-cpu.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log('\nscenario                     req/s   rows/s  main  busiest other  service  generator  main µs/req  service µs/row');
for (const [name, v] of Object.entries(scenarios)) {
  console.log(`${name.padEnd(26)} ${String(v['requests_per_s']).padStart(7)} ${String(v['rows_per_s']).padStart(8)} ${v['main_thread_cpu']!.toFixed(2).padStart(5)} ${v['busiest_other_thread_cpu']!.toFixed(2).padStart(14)} ${v['service_cpu']!.toFixed(2).padStart(8)} ${v['load_generator_cpu']!.toFixed(2).padStart(10)} ${String(v['main_thread_us_per_request']).padStart(12)} ${String(v['service_us_per_row']).padStart(15)}`);
}
console.log('written to bench/results/thread-cpu.json');
