import { createHash } from 'node:crypto';

/**
 * The hash chain of the audit log. Each prediction row has a SHA-256 over its canonical bytes
 * (`row_hash`); each committed group of rows is one link whose hash is SHA-256 over the
 * previous link's hash (hex, ASCII) followed by the 32-byte hashes of its rows in `seq` order.
 * The first link follows `GENESIS_HASH`. Altering, deleting or inserting a row, or a link,
 * breaks the chain from there on; `verifyAuditChain` finds the first break.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** The columns of a prediction row that the chain covers, in this order. */
export const CHAINED_COLUMNS = [
  'seq', 'id', 'request_id', 'ts_ms', 'model', 'model_version', 'features', 'probability', 'decision', 'band',
  'threshold', 'latency_ms', 'trace_id', 'event_ts_ms', 'groups', 'monitoring', 'bundle_hash', 'source', 'reasons', 'shadow_of',
] as const;

export type ChainedRow = readonly [
  seq: number, id: string, requestId: string, tsMs: number, model: string, modelVersion: string, features: string,
  probability: number, decision: number, band: string, threshold: number, latencyMs: number, traceId: string,
  eventTsMs: number, groups: string, monitoring: string | null, bundleHash: string, source: 'scored' | 'observed', reasons: string | null,
  shadowOf?: string | null,
];

/**
 * The canonical bytes of a row: the JSON array of its chained columns (numbers as JavaScript
 * prints them). A trailing `shadow_of` that is NULL (every row but a shadow row) is left out,
 * so rows chained before the column existed, and archives written then, verify unchanged;
 * setting or clearing it still changes the bytes.
 */
export function canonicalRow(row: ChainedRow): Buffer {
  const shadowOf = row[19];
  return Buffer.from(JSON.stringify(shadowOf === null || shadowOf === undefined ? row.slice(0, 19) : row), 'utf8');
}

export function rowHash(row: ChainedRow): Buffer {
  return createHash('sha256').update(canonicalRow(row)).digest();
}

export function linkHash(prevHash: string, rowHashes: readonly Buffer[]): string {
  const h = createHash('sha256').update(prevHash, 'ascii');
  for (const r of rowHashes) h.update(r);
  return h.digest('hex');
}

/**
 * The register of PostgreSQL writers is chained too: entry `n`'s hash covers the previous
 * entry's hash and the JSON array `[n, writer, replica, lane, started_ms]`, from the genesis
 * hash. A writer's first link follows its own entry's hash, so a chain belongs to its entry
 * and a register entry removed (with or without its chain) breaks the register.
 */
export function writerEntryHash(prevHash: string, entry: readonly [n: number, writer: string, replica: string, lane: number, startedMs: number]): string {
  return createHash('sha256').update(prevHash, 'ascii').update(JSON.stringify(entry), 'utf8').digest('hex');
}
