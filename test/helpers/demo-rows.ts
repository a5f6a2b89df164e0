import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.js';

const LABEL = 'default.payment.next.month';

/** Rows of the demo bundle's reference sample as feature objects, with their label. */
export function demoLabelledRows(count: number): { features: Record<string, number>; label: number }[] {
  const lines = readFileSync(join(ROOT, 'models', 'credit-default', 'reference.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1, count + 1).map((line) => {
    const cells = line.split(',');
    const features: Record<string, number> = {};
    let label = Number.NaN;
    header.forEach((h, i) => {
      if (h === LABEL) label = Number(cells[i]);
      else features[h] = Number(cells[i]);
    });
    return { features, label };
  });
}

/** Rows of the demo bundle's reference sample as feature objects (label column dropped). */
export function demoRows(count: number): Record<string, number>[] {
  return demoLabelledRows(count).map((r) => r.features);
}
