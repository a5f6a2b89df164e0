import type { CohortGroupCount, WindowGroupCount } from '../fairness/report.js';

/**
 * Fairness counts as hourly buckets hold them: one count per cell, keyed by the cell's 0/1
 * digits (the decision; for the cohort also the label), then the groups' JSON as logged. They
 * are stored as JSON of `[groups, ...digits, count]`: `[groups, decision, count]` for a
 * window's predictions, `[groups, decision, label, count]` for a cohort's labels.
 */
export type GroupCells = Map<string, number>;

/** The key of a cell. */
export const cellKey = (groups: string, ...digits: number[]): string => `${digits.join('')}${groups}`;

/** Adds `n` to a cell. */
export function addToCell(cells: GroupCells, key: string, n = 1): void {
  cells.set(key, (cells.get(key) ?? 0) + n);
}

/** Several buckets' cells summed. */
export function mergeCells(buckets: Iterable<ReadonlyMap<string, number>>): GroupCells {
  const sum: GroupCells = new Map();
  for (const cells of buckets) for (const [key, n] of cells) addToCell(sum, key, n);
  return sum;
}

/** A window's cells as `[groups, decision, count]`. */
export const windowEntries = (cells: ReadonlyMap<string, number>): WindowGroupCount[] => [...cells].map(([key, n]) => [key.slice(1), Number(key[0]), n] as const);

/** A cohort's cells as `[groups, decision, label, count]`. */
export const cohortEntries = (cells: ReadonlyMap<string, number>): CohortGroupCount[] => [...cells].map(([key, n]) => [key.slice(2), Number(key[0]), Number(key[1]), n] as const);

/**
 * Stored cells (JSON of `[groups, ...digits, count]` with `digits` 0/1 digits each), and how
 * many they count in all; undefined when absent or malformed (a cell twice, a digit not 0 or
 * 1, a count not a positive integer).
 */
export function parseCells(json: string | null | undefined, digits: number): { cells: GroupCells; total: number } | undefined {
  if (json === null || json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const cells: GroupCells = new Map();
  let total = 0;
  for (const entry of parsed as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== digits + 2) return undefined;
    const [groups, ...rest] = entry as unknown[];
    const n = rest.pop();
    if (typeof groups !== 'string' || !rest.every((d) => d === 0 || d === 1) || !Number.isInteger(n) || (n as number) <= 0) return undefined;
    const key = cellKey(groups, ...(rest as number[]));
    if (cells.has(key)) return undefined;
    cells.set(key, n as number);
    total += n as number;
  }
  return { cells, total };
}
