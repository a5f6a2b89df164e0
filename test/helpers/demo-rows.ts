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
