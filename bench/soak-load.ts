// The soak's load generator, in a process of its own so its work and heap stay out of the
// orchestrator (which scrapes the service) and out of the service. It sends single-row
// /predict requests at a fixed rate, open loop, in back-to-back segments, and prints one JSON
// line per segment (bench/fixed-rate.ts: latency from each request's due time).
// Usage: node --import tsx bench/soak-load.ts URL RATE SEGMENT_SECONDS SEGMENTS
import { demoRows } from '../test/helpers/demo-rows.js';
import { fixedRate } from './fixed-rate.js';

const [url, rate, segmentSeconds, segments] = process.argv.slice(2);
const bodies = demoRows(2000).map((r) => JSON.stringify({ features: r }));
let i = 0;
let stop = false;
process.once('SIGTERM', () => { stop = true; });
// The soak that reads these lines is gone (interrupted): so is the point of the load.
process.stdout.on('error', () => process.exit(0));
for (let s = 0; s < Number(segments) && !stop; s++) {
  const result = await fixedRate({ url: url!, rate: Number(rate), seconds: Number(segmentSeconds), body: () => bodies[i++ % bodies.length]! });
  process.stdout.write(`${JSON.stringify({ segment: s, ...result })}\n`);
}
