// npm run dashboards: writes grafana/dashboards/*.json from the TypeScript in this folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardJson, dashboards } from './index.js';

const out = join(import.meta.dirname, '..', '..', 'grafana', 'dashboards');
mkdirSync(out, { recursive: true });
for (const [file, d] of Object.entries(dashboards())) {
  writeFileSync(join(out, file), dashboardJson(d));
  console.log(`wrote grafana/dashboards/${file}: ${d.panels?.length ?? 0} panels`);
}
