import { readCsvColumns } from '../data/csv.js';
import type { ModelSchema } from './schema.js';

/**
 * The rows a simulation draws from (a bundle's reference sample or any CSV file with the
 * model's feature columns), held as columns: NaN for a missing value.
 */
export interface RowPool {
  readonly file: string;
  readonly rows: number;
  /** Feature names in the model's order. */
  readonly names: readonly string[];
  readonly columns: readonly Float64Array[];
  /** The label of each row (0, 1, or NaN when unknown); undefined when the file has no label column. */
  readonly labels: Float64Array | undefined;
  readonly labelColumn: string | undefined;
}

/** One row on its way to the service: features as JSON values (null = missing) and its label. */
export interface SimRow {
  /** The row's index in the pool. */
  readonly index: number;
  readonly features: Record<string, number | null>;
  readonly label: 0 | 1 | null;
}

/**
 * Reads the pool from a CSV file: every feature column of the model is required (numeric;
 * categorical codes are numbers), the label column is kept when present and must hold 0, 1
 * or a missing value. Errors name the file, the line and the column.
 */
export async function readPool(file: string, schema: ModelSchema, labelColumn: string | undefined): Promise<RowPool> {
  const names = schema.features.map((f) => f.name);
  const csv = await readCsvColumns(file, { numeric: labelColumn === undefined ? names : [...names, labelColumn], required: names });
  const columns = names.map((n) => {
    const c = csv.columns.get(n);
    if (c?.kind !== 'numeric') throw new Error(`${file}: column "${n}" is not numeric`);
    return c.values;
  });
  const label = labelColumn === undefined ? undefined : csv.columns.get(labelColumn);
  let labels: Float64Array | undefined;
  if (label?.kind === 'numeric') {
    labels = label.values;
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]!;
      if (v === v && v !== 0 && v !== 1) throw new Error(`${file}:${i + 2}: column "${labelColumn}": the label must be 0, 1 or missing, got ${v}`);
    }
  }
  return { file, rows: csv.rows, names, columns, labels, labelColumn: labels === undefined ? undefined : labelColumn };
}

/** Row `index` of the pool as a fresh, editable row. */
export function rowAt(pool: RowPool, index: number): SimRow {
  const features: Record<string, number | null> = {};
  for (let j = 0; j < pool.names.length; j++) {
    const v = pool.columns[j]![index]!;
    features[pool.names[j]!] = v === v ? v : null;
  }
  const l = pool.labels?.[index];
  return { index, features, label: l === 0 || l === 1 ? l : null };
}
