import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CHAINED_COLUMNS, GENESIS_HASH, linkHash, rowHash, writerEntryHash, type ChainedRow } from './audit-chain.js';
import type { AuditRow } from './audit-writer-protocol.js';
import { ADVISORY_LOCKS, monthOf } from './postgres.js';

/**
 * One writer's hash chain on PostgreSQL: a lane of one replica's audit log, for one process
 * life. The lane commits its groups one after another, so it keeps its chain's head in memory
 * and extends it inside the transaction that commits the rows — no lock on a shared head row,
 * no read before each write. Each row gets the writer's next `seq` and its hash over the same
 * canonical bytes as on SQLite (`[seq, …AuditRow]`); each month of the group's rows gets one
 * link (a link never spans two monthly partitions, so retention archives whole links).
 *
 * A writer registers in `audit_writers` inside its first commit (so an entry exists exactly
 * when its chain has a link), chained to the previous entry under a transaction-scoped
 * advisory lock: rare (once per lane per process, and after a failure), never on the way of
 * the other commits.
 *
 * A writer that saw its transaction fail is retired and the lane starts a new writer: after a
 * connection lost during COMMIT it cannot know whether its last link committed, and guessing
 * wrong would make the next link fork the chain. A rolled-back transaction leaves neither rows
 * nor link, so a retired chain simply ends at its last committed link — never a gap.
 */
export class PgChainWriter {
  readonly id = randomUUID();
  private readonly startedMs = Date.now();
  private registered = false;
  private head = GENESIS_HASH;
  private link = 0;
  private seq = 0;

  constructor(
    readonly replica: string,
    readonly lane: number,
  ) {}

  /**
   * Inserts the register entry (first commit only) and numbers and hashes `rows`, inside the
   * caller's open transaction. Returns the rows in insertion order with their chain columns,
   * the links to insert, and `adopt`, to call once the transaction committed.
   */
  async extend(client: pg.ClientBase, rows: readonly AuditRow[]): Promise<{ rows: ChainedInsert[]; links: LinkInsert[]; adopt: () => void }> {
    let head = this.head;
    if (!this.registered) head = await this.register(client);
    // Rows of one month are contiguous in seq, so each month's link covers a range.
    const byMonth = new Map<number, AuditRow[]>();
    for (const r of rows) {
      const m = monthOf(r[12]).fromMs;
      let list = byMonth.get(m);
      if (list === undefined) byMonth.set(m, (list = []));
      list.push(r);
    }
    let seq = this.seq;
    let link = this.link;
    const out: ChainedInsert[] = [];
    const links: LinkInsert[] = [];
    const committedMs = Date.now();
    for (const [monthMs, monthRows] of byMonth) {
      const firstSeq = seq + 1;
      const hashes: Buffer[] = [];
      for (const r of monthRows) {
        const h = rowHash([++seq, ...r] as ChainedRow);
        hashes.push(h);
        out.push({ row: r, seq, hash: h });
      }
      const hash = linkHash(head, hashes);
      links.push({ link: ++link, firstSeq, lastSeq: seq, rows: hashes.length, prevHash: head, hash, committedMs, monthMs });
      head = hash;
    }
    return {
      rows: out,
      links,
      adopt: () => {
        this.registered = true;
        this.head = head;
        this.link = link;
        this.seq = seq;
      },
    };
  }

  /** Appends this writer to the register, after the last entry; returns its entry's hash (where its chain starts). */
  private async register(client: pg.ClientBase): Promise<string> {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.auditWriters]);
    const last = (await client.query<{ n: string; hash: string }>('SELECT n, hash FROM audit_writers ORDER BY n DESC LIMIT 1')).rows[0];
    const n = last === undefined ? 1 : Number(last.n) + 1;
    const prev = last?.hash ?? GENESIS_HASH;
    const hash = writerEntryHash(prev, [n, this.id, this.replica, this.lane, this.startedMs]);
    await client.query('INSERT INTO audit_writers (n, writer, replica, lane, started_ms, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [n, this.id, this.replica, this.lane, this.startedMs, prev, hash]);
    return hash;
  }
}

export interface ChainedInsert { readonly row: AuditRow; readonly seq: number; readonly hash: Buffer }
export interface LinkInsert {
  readonly link: number; readonly firstSeq: number; readonly lastSeq: number; readonly rows: number;
  readonly prevHash: string; readonly hash: string; readonly committedMs: number; readonly monthMs: number;
}

export const INSERT_LINKS = `INSERT INTO audit_links (writer, link, first_seq, last_seq, rows, prev_hash, hash, committed_ms, month_ms)
  SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])`;

/** The bind parameters of INSERT_LINKS. */
export const linkColumns = (writer: string, links: readonly LinkInsert[]): unknown[] => [
  writer, links.map((l) => l.link), links.map((l) => l.firstSeq), links.map((l) => l.lastSeq), links.map((l) => l.rows),
  links.map((l) => l.prevHash), links.map((l) => l.hash), links.map((l) => l.committedMs), links.map((l) => l.monthMs),
];

/** The chained columns of a `predictions` row aliased `p`, as the canonical bytes need them (bigints as numbers). */
export const CHAINED_SELECT = CHAINED_COLUMNS.map((c) => (c === 'seq' || c === 'ts_ms' || c === 'event_ts_ms' ? `p.${c}::float8` : `p.${c}`));
