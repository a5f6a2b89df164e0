import type { ReplayProgress } from './replay.js';
import type { SimulationSummary } from './run.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)} ms`;

/** The progress line: elapsed time, sent, answered, errors, and the answer rate. */
export function formatProgress(p: ReplayProgress): string {
  return `vigia simulate: ${p.seconds.toFixed(1)} s  sent ${int(p.sent)}  answered ${int(p.answered)}  errors ${int(p.errors)}  ${int(p.rate)} req/s`;
}

/** The human summary printed at the end of a run. */
export function formatSummary(s: SimulationSummary): string {
  const lines = [
    `vigia simulate: ${s.scenario.name} (${s.scenario.description}) against ${s.url}, model ${s.model} ${s.model_version}`,
    `  rows       ${int(s.rows.planned)} planned from ${s.source.file} (${int(s.source.rows)} rows), ${s.batch} per request, seed ${s.seed}`,
    `  load       ${s.rate === null ? `as fast as possible, ${s.concurrency} in flight` : `${int(s.rate)} req/s open loop, at most ${s.concurrency} in flight`}`,
    `  requests   ${int(s.requests.sent)} sent, ${int(s.requests.answered)} answered, ${int(s.requests.failed)} failed in ${s.duration_seconds.toFixed(2)} s: ${int(s.throughput.requests_per_second)} req/s, ${int(s.throughput.rows_per_second)} rows/s`,
    s.latency_ms === null
      ? '  latency    no answer'
      : `  latency    p50 ${ms(s.latency_ms.p50)}  p95 ${ms(s.latency_ms.p95)}  p99 ${ms(s.latency_ms.p99)}  max ${ms(s.latency_ms.max)} (client side${s.rate === null ? '' : ', from each request\'s due time'})`,
  ];
  for (const [key, f] of Object.entries(s.requests.failures)) lines.push(`  failed     ${key} × ${int(f.count)}: ${f.example}`);
  if (s.event_time !== null) lines.push(`  event time ${s.event_time.from} → ${s.event_time.to}`);
  if (s.labels !== null) {
    const l = s.labels;
    lines.push(`  labels     ${int(l.queued)} queued: ${int(l.accepted)} accepted, ${int(l.duplicate)} duplicate, ${int(l.conflicting)} conflicting, ${int(l.unknown)} unknown, ${int(l.failed)} failed`);
    if (l.failure !== undefined) lines.push(`             first failure: ${l.failure}`);
  }
  if (s.stopped !== null) lines.push(`  stopped    ${s.stopped}`);
  return `${lines.join('\n')}\n`;
}
