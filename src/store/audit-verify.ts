import { GENESIS_HASH, CHAINED_COLUMNS, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import type { SqliteDatabase } from './database.js';

/** The first place where the audit log does not match its hash chain. */
export interface ChainBreak {
  readonly link: number | null;
  /** The row (seq and prediction id) that does not match, when one can be named. */
  readonly seq: number | null;
  readonly id: string | null;
  readonly reason: string;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly links: number;
  readonly rows: number;
  /** Rows written before the chain existed (databases migrated from an older Vigia). */
  readonly unchained: number;
  /** The last link's hash: publish it elsewhere to anchor the chain against a rewrite of the whole file. */
  readonly head: string;
  readonly firstBreak: ChainBreak | undefined;
}

interface Link { link: number; first_seq: number; last_seq: number; rows: number; prev_hash: string; hash: string }

/**
 * Re-checks the hash chain over the whole audit log, one pass in `seq` order: every row's
 * content against its stored hash, every link against its rows and the previous link, and
 * that no row lies outside the links (inserted after the fact) or is missing from one
 * (deleted). Stops at the first break and names it. `onProgress` is called every 100,000 rows.
 */
export function verifyAuditChain(db: SqliteDatabase, onProgress?: (rows: number) => void, archivedHead?: string): ChainVerification {
  const checkpoint = db.prepare('SELECT link, hash FROM audit_checkpoint WHERE id = 1').get() as { link: number; hash: string } | undefined;
  const links = db.prepare('SELECT link, first_seq, last_seq, rows, prev_hash, hash FROM audit_chain ORDER BY link').iterate() as IterableIterator<Link>;
  const firstLinkSeq = db.prepare('SELECT min(first_seq) FROM audit_chain').pluck().get() as number | null;
  const unchained = firstLinkSeq === null
    ? (db.prepare('SELECT count(*) FROM predictions').pluck().get() as number)
    : (db.prepare('SELECT count(*) FROM predictions WHERE seq < ?').pluck().get(firstLinkSeq) as number);
  const rowsOf = db.prepare(`SELECT ${CHAINED_COLUMNS.join(', ')}, row_hash FROM predictions WHERE seq >= ? ORDER BY seq`).raw();
  const rows = firstLinkSeq === null ? [][Symbol.iterator]() : (rowsOf.iterate(firstLinkSeq) as IterableIterator<unknown[]>);
  let head = GENESIS_HASH;
  let nLinks = 0;
  let nRows = 0;
  let pending: unknown[] | undefined;
  const next = (): unknown[] | undefined => {
    if (pending !== undefined) {
      const p = pending;
      pending = undefined;
      return p;
    }
    const r = rows.next();
    return r.done === true ? undefined : r.value;
  };
  const result = (firstBreak?: ChainBreak): ChainVerification => {
    links.return?.();
    rows.return?.();
    return { ok: firstBreak === undefined, links: nLinks, rows: nRows, unchained, head, firstBreak };
  };
  let first = true;
  for (const l of links) {
    if (!first && l.prev_hash !== head) return result({ link: l.link, seq: l.first_seq, id: null, reason: `link ${l.link} does not follow link ${l.link - 1}: its previous hash ${l.prev_hash.slice(0, 16)}… is not ${head.slice(0, 16)}…` });
    // The chain starts at the genesis hash, or, once retention archived its oldest links, at
    // the checkpoint (which must be where the archives' chain ends, when they are checked).
    if (first) {
      const start = checkpoint?.hash ?? GENESIS_HASH;
      if (l.prev_hash !== start) return result({ link: l.link, seq: l.first_seq, id: null, reason: `the chain starts at link ${l.link}, whose previous hash is not ${checkpoint === undefined ? 'the genesis hash: earlier links were removed' : `the checkpoint of link ${checkpoint.link}`}` });
      if (archivedHead !== undefined && start !== archivedHead) return result({ link: l.link, seq: l.first_seq, id: null, reason: `the checkpoint (${start.slice(0, 16)}…) is not where the archives' chain ends (${archivedHead.slice(0, 16)}…)` });
      head = start;
    }
    first = false;
    const hashes: Buffer[] = [];
    for (;;) {
      const row = next();
      if (row === undefined) break;
      const seq = row[0] as number;
      if (seq > l.last_seq) {
        pending = row;
        break;
      }
      if (seq < l.first_seq) return result({ link: l.link, seq, id: row[1] as string, reason: `row seq ${seq} (prediction ${row[1] as string}) lies between links: it was inserted after the fact` });
      const stored = row[CHAINED_COLUMNS.length] as Buffer | null;
      const h = rowHash(row.slice(0, CHAINED_COLUMNS.length) as unknown as ChainedRow);
      if (stored === null || !h.equals(stored)) return result({ link: l.link, seq, id: row[1] as string, reason: `row seq ${seq} (prediction ${row[1] as string}) does not match its hash: it was altered after it was committed` });
      hashes.push(h);
      nRows++;
      if (onProgress !== undefined && nRows % 100_000 === 0) onProgress(nRows);
    }
    if (hashes.length !== l.rows) return result({ link: l.link, seq: l.first_seq, id: null, reason: `link ${l.link} covers ${l.rows} rows (seq ${l.first_seq}–${l.last_seq}) but ${hashes.length} are in the database: rows were deleted` });
    const h = linkHash(head, hashes);
    if (h !== l.hash) return result({ link: l.link, seq: l.first_seq, id: null, reason: `link ${l.link} (seq ${l.first_seq}–${l.last_seq}) does not match its rows: the link or its rows' stored hashes were rewritten` });
    head = h;
    nLinks++;
  }
  if (first && archivedHead !== undefined && (checkpoint?.hash ?? GENESIS_HASH) !== archivedHead) {
    return result({ link: null, seq: null, id: null, reason: `the checkpoint is not where the archives' chain ends (${archivedHead.slice(0, 16)}…)` });
  }
  const extra = next();
  if (extra !== undefined) return result({ link: null, seq: extra[0] as number, id: extra[1] as string, reason: `row seq ${extra[0] as number} (prediction ${extra[1] as string}) is after the last link: it was inserted after the fact` });
  return result();
}
