import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.js';

/** Rows of the demo bundle's reference sample as feature objects (label column dropped). */
export function demoRows(count: number): Record<string, number>[] {
  const lines = readFileSync(join(ROOT, 'models', 'credit-default', 'reference.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1, count + 1).map((line) => {
    const cells = line.split(',');
    const row: Record<string, number> = {};
    header.forEach((h, i) => {
      if (h !== 'default.payment.next.month') row[h] = Number(cells[i]);
    });
    return row;
  });
}

/** Rows of the demo model's held-out test split, the label kept apart (test/fixtures/credit-default/holdout.csv). */
export function holdoutRows(): { features: Record<string, number>; label: 0 | 1 }[] {
  const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'credit-default', 'holdout.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const features: Record<string, number> = {};
    let label: 0 | 1 = 0;
    header.forEach((h, i) => {
      if (h === 'default.payment.next.month') label = cells[i] === '1' ? 1 : 0;
      else features[h] = Number(cells[i]);
    });
    return { features, label };
  });
}
