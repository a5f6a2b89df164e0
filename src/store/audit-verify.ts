import { GENESIS_HASH, CHAINED_COLUMNS } from './audit-chain.js';
import { ChainWalk, type ChainLink } from './chain-walk.js';
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

/**
 * Re-checks the hash chain over the whole audit log, one pass in `seq` order: every row's
 * content against its stored hash, every link against its rows and the previous link, and
 * that no row lies outside the links (inserted after the fact) or is missing from one
 * (deleted) — the walk PostgreSQL's writers' chains share (ChainWalk). Stops at the first
 * break and names it. `onProgress` is called every 100,000 rows.
 */
export function verifyAuditChain(db: SqliteDatabase, onProgress?: (rows: number) => void, archivedHead?: string): ChainVerification {
  const checkpoint = db.prepare('SELECT link, hash FROM audit_checkpoint WHERE id = 1').get() as { link: number; hash: string } | undefined;
  const links = db.prepare('SELECT link, first_seq, last_seq, rows, prev_hash, hash FROM audit_chain ORDER BY link').iterate() as IterableIterator<ChainLink>;
  const firstLinkSeq = db.prepare('SELECT min(first_seq) FROM audit_chain').pluck().get() as number | null;
  const unchained = firstLinkSeq === null
    ? (db.prepare('SELECT count(*) FROM predictions').pluck().get() as number)
    : (db.prepare('SELECT count(*) FROM predictions WHERE seq < ?').pluck().get(firstLinkSeq) as number);
  const rowsOf = db.prepare(`SELECT ${CHAINED_COLUMNS.join(', ')}, row_hash FROM predictions WHERE seq >= ? ORDER BY seq`).raw();
  const rows = firstLinkSeq === null ? [][Symbol.iterator]() : (rowsOf.iterate(firstLinkSeq) as IterableIterator<unknown[]>);
  const walk = new ChainWalk('', 'the database', true);
  // The chain starts at the genesis hash, or, once retention archived its oldest links, at
  // the checkpoint (which must be where the archives' chain ends, when they are checked).
  const start = checkpoint?.hash ?? GENESIS_HASH;
  const result = (firstBreak?: ChainBreak): ChainVerification => {
    links.return?.();
    rows.return?.();
    return { ok: firstBreak === undefined, links: walk.links, rows: walk.rows, unchained, head: walk.head ?? start, firstBreak };
  };
  let row = rows.next().value as unknown[] | undefined;
  let first = true;
  for (const l of links) {
    if (first) {
      if (l.prev_hash !== start) return result({ link: l.link, seq: l.first_seq, id: null, reason: `the chain starts at link ${l.link}, whose previous hash is not ${checkpoint === undefined ? 'the genesis hash: earlier links were removed' : `the checkpoint of link ${checkpoint.link}`}` });
      if (archivedHead !== undefined && start !== archivedHead) return result({ link: l.link, seq: l.first_seq, id: null, reason: `the checkpoint (${start.slice(0, 16)}…) is not where the archives' chain ends (${archivedHead.slice(0, 16)}…)` });
      first = false;
    }
    const broken = walk.link(l);
    if (broken !== undefined) return result(broken);
    while (row !== undefined && (row[0] as number) <= l.last_seq) {
      const bad = walk.row(row.slice(0, CHAINED_COLUMNS.length), row[CHAINED_COLUMNS.length] as Buffer | null);
      if (bad !== undefined) return result(bad);
      if (onProgress !== undefined && walk.rows % 100_000 === 0) onProgress(walk.rows);
      row = rows.next().value as unknown[] | undefined;
    }
  }
  const broken = walk.close();
  if (broken !== undefined) return result(broken);
  if (first && archivedHead !== undefined && start !== archivedHead) {
    return result({ link: null, seq: null, id: null, reason: `the checkpoint is not where the archives' chain ends (${archivedHead.slice(0, 16)}…)` });
  }
  if (row !== undefined) return result(walk.stray(row));
  return result();
}
