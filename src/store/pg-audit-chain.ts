import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { CHAINED_COLUMNS, GENESIS_HASH, linkHash, rowHash, writerEntryHash, type ChainedRow } from './audit-chain.js';
import type { AuditRow } from './audit-writer-protocol.js';
import { ADVISORY_LOCKS, monthOf } from './postgres.js';

/** A replica's name when none is configured: its host name and process id. */
export const defaultReplica = (): string => `${hostname()}:${process.pid}`;

/**
 * One writer's hash chain on PostgreSQL: a lane of one replica's audit log (or of its
 * observation store, pg-chain-lanes.ts), for one process life. The lane commits its groups
 * one after another, so it keeps its chain's head in memory and extends it inside the
 * transaction that commits the rows — no lock on a shared head row, no read before each write. Each row gets the writer's next `seq` and its hash over the same
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

  /** True until the writer's first commit registered it (that commit needs a transaction of several statements). */
  get unregistered(): boolean {
    return !this.registered;
  }

  /**
   * Numbers and hashes `rows` (rows of one month together, so each month's link covers a
   * range of seq), before the transaction begins: the hashing runs on the event loop, so it
   * yields every HASH_CHUNK rows, and a batch of 10,000 rows never holds the loop for its
   * whole length. The lane commits one group at a time, so the numbering cannot race.
   */
  async prepare(rows: readonly AuditRow[]): Promise<PreparedRows> {
    const byMonth = new Map<number, AuditRow[]>();
    for (const r of rows) {
      const m = monthOf(r[12]).fromMs;
      let list = byMonth.get(m);
      if (list === undefined) byMonth.set(m, (list = []));
      list.push(r);
    }
    let seq = this.seq;
    const out: ChainedInsert[] = [];
    const months: { monthMs: number; from: number; to: number }[] = [];
    for (const [monthMs, monthRows] of byMonth) {
      const from = out.length;
      for (const r of monthRows) {
        out.push({ row: r, seq: ++seq, hash: rowHash([seq, ...r] as ChainedRow) });
        if (out.length % HASH_CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      months.push({ monthMs, from, to: out.length });
    }
    return { rows: out, months, seq };
  }

  /**
   * Inside the caller's open transaction: inserts the register entry (first commit only) and
   * makes the links of the prepared rows. Returns the links to insert, and `adopt`, to call
   * once the transaction committed.
   */
  async extend(client: pg.ClientBase, prepared: PreparedRows): Promise<{ links: LinkInsert[]; adopt: () => void }> {
    let head = this.head;
    if (!this.registered) head = await this.register(client);
    let link = this.link;
    const links: LinkInsert[] = [];
    const committedMs = Date.now();
    for (const m of prepared.months) {
      const part = prepared.rows.slice(m.from, m.to);
      const hash = linkHash(head, part.map((c) => c.hash));
      links.push({ link: ++link, firstSeq: part[0]!.seq, lastSeq: part.at(-1)!.seq, rows: part.length, prevHash: head, hash, committedMs, monthMs: m.monthMs });
      head = hash;
    }
    return {
      links,
      adopt: () => {
        this.registered = true;
        this.head = head;
        this.link = link;
        this.seq = prepared.seq;
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
/** A group's rows in insertion order with their seq and hash, each month's a range of them. */
export interface PreparedRows {
  readonly rows: readonly ChainedInsert[];
  readonly months: readonly { readonly monthMs: number; readonly from: number; readonly to: number }[];
  /** The writer's last seq once they are committed. */
  readonly seq: number;
}

/** Rows hashed between two yields to the event loop (about 2 ms on a quiet core). */
const HASH_CHUNK = 256;
export interface LinkInsert {
  readonly link: number; readonly firstSeq: number; readonly lastSeq: number; readonly rows: number;
  readonly prevHash: string; readonly hash: string; readonly committedMs: number; readonly monthMs: number;
}

/** Inserts a group's links, its bind parameters numbered from `$first` (see linkColumns). */
export const insertLinks = (first: number): string => {
  const p = (i: number) => `$${first + i}`;
  return `INSERT INTO audit_links (writer, link, first_seq, last_seq, rows, prev_hash, hash, committed_ms, month_ms)
  SELECT ${p(0)}, * FROM unnest(${p(1)}::bigint[], ${p(2)}::bigint[], ${p(3)}::bigint[], ${p(4)}::int[], ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::bigint[], ${p(8)}::bigint[])`;
};

/** The bind parameters of insertLinks. */
export const linkColumns = (writer: string, links: readonly LinkInsert[]): unknown[] => [
  writer, links.map((l) => l.link), links.map((l) => l.firstSeq), links.map((l) => l.lastSeq), links.map((l) => l.rows),
  links.map((l) => l.prevHash), links.map((l) => l.hash), links.map((l) => l.committedMs), links.map((l) => l.monthMs),
];

/** The chained columns of a `predictions` row aliased `p`, as the canonical bytes need them (bigints as numbers). */
export const CHAINED_SELECT = CHAINED_COLUMNS.map((c) => (c === 'seq' || c === 'ts_ms' || c === 'event_ts_ms' ? `p.${c}::float8` : `p.${c}`));
