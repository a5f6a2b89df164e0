// Runs bench/fixed-rate.ts in a process of its own, so that the bench process's heap
// (autocannon, earlier results) cannot pause the generator and inflate the latencies.
// Usage: node --import tsx bench/fixed-rate-cli.ts URL RATE SECONDS  → one JSON line.
import { demoRows } from '../test/helpers/demo-rows.js';
import { fixedRate } from './fixed-rate.js';

const [url, rate, seconds] = process.argv.slice(2);
const bodies = demoRows(200).map((r) => JSON.stringify({ features: r }));
let i = 0;
const result = await fixedRate({ url: url!, rate: Number(rate), seconds: Number(seconds), body: () => bodies[i++ % bodies.length]! });
process.stdout.write(`${JSON.stringify(result)}\n`);
