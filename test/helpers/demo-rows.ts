import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.js';

const LABEL = 'default.payment.next.month';

/** Rows of a CSV of the demo model as feature objects, the label kept apart. */
function labelledRows(path: string, count?: number): { features: Record<string, number>; label: 0 | 1 }[] {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1, count === undefined ? undefined : count + 1).map((line) => {
    const cells = line.split(',');
    const features: Record<string, number> = {};
    let label: 0 | 1 = 0;
    header.forEach((h, i) => {
      if (h === LABEL) label = cells[i] === '1' ? 1 : 0;
      else features[h] = Number(cells[i]);
    });
    return { features, label };
  });
}

/** Rows of the demo bundle's reference sample as feature objects, with their label. */
export function demoLabelledRows(count: number): { features: Record<string, number>; label: 0 | 1 }[] {
  return labelledRows(join(ROOT, 'models', 'credit-default', 'reference.csv'), count);
}

/** Rows of the demo bundle's reference sample as feature objects (label column dropped). */
export function demoRows(count: number): Record<string, number>[] {
  return demoLabelledRows(count).map((r) => r.features);
}

/** Rows of the demo model's held-out test split, the label kept apart (test/fixtures/credit-default/holdout.csv). */
export function holdoutRows(): { features: Record<string, number>; label: 0 | 1 }[] {
  return labelledRows(join(ROOT, 'test', 'fixtures', 'credit-default', 'holdout.csv'));
}
