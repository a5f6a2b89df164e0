// `npm run bench:http-metrics`: what the OpenTelemetry http.server.request.duration costs on
// the hot path. (1) One request's metric recording (recordRequest: prom-client's histogram and
// counter, then the OTel histogram) against the same with the OTel part switched off. (2) The
// whole /predict request, in process over loopback keep-alive, one at a time, with and without
// it. Runs are interleaved (on, off, on, off...) and reported as medians. Results: stdout and
// bench/results/http-metrics.json. The machine is shared: read ratios, not absolute figures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { recordRequest } from '../src/http/instrument.js';
import { buildTestApp } from '../test/helpers/app.js';
import { demoRows } from '../test/helpers/demo-rows.js';
import { listen } from '../test/helpers/listen.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const CALLS = 200_000;
const REQUESTS = 2_000;
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const t = await buildTestApp();
const otelRecord = t.metrics.otel.recordRequest;
const noop = () => {};
const setOtel = (on: boolean) => { t.metrics.otel.recordRequest = on ? otelRecord : noop; };

// (1) recordRequest alone, ns per call.
const routes = ['/predict', '/v1/models/:model/predict'];
const statuses = [200, 200, 200, 400];
function recordingNs(on: boolean): number {
  setOtel(on);
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) recordRequest(t.metrics, routes[i & 1]!, 'POST', statuses[i & 3]!, start);
  return Number(process.hrtime.bigint() - start) / CALLS;
}
recordingNs(true); recordingNs(false); // warm up
const recording = { on: [] as number[], off: [] as number[] };
for (let r = 0; r < REPS; r++) {
  recording.on.push(recordingNs(true));
  recording.off.push(recordingNs(false));
}
log(`recordRequest: ${median(recording.on).toFixed(0)} ns with OTel, ${median(recording.off).toFixed(0)} ns without`);

// (2) the whole /predict request, one at a time, µs per request (median of the run's requests).
const server = await listen(t.app);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const body = JSON.stringify({ features: demoRows(1)[0] });
const url = new URL('/predict', server.url);
const post = () => new Promise<number>((done, fail) => {
  const t0 = process.hrtime.bigint();
  const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? done(Number(process.hrtime.bigint() - t0) / 1000) : fail(new Error(`status ${res.statusCode}`))));
  });
  req.on('error', fail);
  req.end(body);
});
async function requestUs(on: boolean): Promise<number> {
  setOtel(on);
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) times.push(await post());
  return median(times);
}
await requestUs(true); await requestUs(false);
const whole = { on: [] as number[], off: [] as number[] };
for (let r = 0; r < REPS; r++) {
  whole.on.push(await requestUs(true));
  whole.off.push(await requestUs(false));
}
log(`/predict: ${median(whole.on).toFixed(1)} µs with OTel, ${median(whole.off).toFixed(1)} µs without`);
agent.destroy();
await server.close();
await t.close();

const result = {
  date: new Date().toISOString(),
  reps: REPS,
  record_request_ns: { with_otel: median(recording.on), without_otel: median(recording.off), ratio: median(recording.on) / median(recording.off), runs: recording },
  predict_request_us: { with_otel: median(whole.on), without_otel: median(whole.off), ratio: median(whole.on) / median(whole.off), runs: whole },
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'http-metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify({ record_request_ns: { ...result.record_request_ns, runs: undefined }, predict_request_us: { ...result.predict_request_us, runs: undefined } }, null, 2));
