// Measures the false-alarm rates of the drift verdicts on stable traffic of the demo model,
// per window size, for the rule of the previous release and for each correction: the table
// of docs/drift.md ("False alarms"). test/drift/false-alarms.test.ts holds the service to the
// issue's bar on 100 windows per size; this runs more windows.
//
//   node --import tsx tools/false-alarm-rates.ts [windows at 100 and 200 rows, default 1000]
//
// Windows are drawn without replacement, seeded by the size, from the data-set rows the
// reference sample did not use (test/helpers/stable-windows.ts); deterministic.
import { evaluateDrift } from '../src/drift/evaluate.js';
import { DEFAULT_DRIFT_THRESHOLDS, type DriftThresholds } from '../src/drift/severity.js';
import { loadModels } from '../src/model/registry.js';
import { DEMO_MODELS } from '../test/helpers/app.js';
import { demoPool, drawIndices, poolWindow, seededRandom } from '../test/helpers/stable-windows.js';

const small = Number(process.argv[2] ?? 1000);
const plan: [number, number][] = [[100, small], [200, small], [500, 1000], [1000, 1000], [5000, 300]];
const variants: Record<string, DriftThresholds> = {
  before: { ...DEFAULT_DRIFT_THRESHOLDS, correction: 'none', psiPValueWarning: 1, psiPValueCritical: 1 },
  holm: DEFAULT_DRIFT_THRESHOLDS,
  bh: { ...DEFAULT_DRIFT_THRESHOLDS, correction: 'bh' },
};

const registry = await loadModels(DEMO_MODELS, undefined);
try {
  const pool = await demoPool(registry);
  const bands = registry.get('credit-default')!.manifest.bands;
  console.log('rows\twindows\t' + Object.keys(variants).map((v) => `${v} critical\t${v} attention`).join('\t'));
  for (const [size, windows] of plan) {
    const random = seededRandom(size * 7 + 1);
    const counts = Object.fromEntries(Object.keys(variants).map((v) => [v, { critical: 0, attention: 0 }]));
    for (let w = 0; w < windows; w++) {
      const window = poolWindow(pool, drawIndices(random, pool.rows, size));
      for (const [name, t] of Object.entries(variants)) {
        const status = evaluateDrift(pool.baseline, window, bands, t).summary.status;
        if (status === 'CRITICAL') counts[name]!.critical++;
        if (status === 'ATTENTION') counts[name]!.attention++;
      }
    }
    console.log(`${size}\t${windows}\t` + Object.values(counts).map((c) => `${c.critical}\t${c.attention}`).join('\t'));
  }
} finally {
  await registry.close();
}
