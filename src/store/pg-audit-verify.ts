import type pg from 'pg';
import { GENESIS_HASH, writerEntryHash } from './audit-chain.js';
import type { ArchiveVerification } from './archive-verify.js';
import type { ChainBreak } from './audit-verify.js';
import { ChainWalk, type ChainLink, type ChainRun } from './chain-walk.js';
import { CHAINED_SELECT } from './pg-audit-chain.js';

export interface PgChainVerification {
  readonly ok: boolean;
  /** Writers in the register. */
  readonly writers: number;
  /** Links and rows verified in the database (the archives' are counted by verifyArchives). */
  readonly links: number;
  readonly rows: number;
  /** Rows written before the chain existed on PostgreSQL (no writer). */
  readonly unchained: number;
  /** The register's last entry hash: publish it elsewhere to anchor the register against a rewrite. */
  readonly registerHead: string;
  readonly firstBreak: (ChainBreak & { readonly writer: string | null }) | undefined;
}

interface Entry { n: string; writer: string; replica: string; lane: number; started_ms: string; prev_hash: string; hash: string }

const PAGE = 1000;

/** A cursor of the open transaction, read a page at a time. */
function cursor<T>(client: pg.ClientBase, name: string, arrays = false): () => Promise<T | undefined> {
  let page: T[] = [];
  let done = false;
  return async () => {
    if (page.length === 0 && !done) {
      page = (await client.query<T & pg.QueryResultRow>({ text: `FETCH ${PAGE} FROM ${name}`, ...(arrays ? { rowMode: 'array' as const } : {}) })).rows.reverse();
      done = page.length === 0;
    }
    return page.pop();
  };
}

/**
 * Re-checks every writer's hash chain on PostgreSQL, in one REPEATABLE READ snapshot (the
 * writers keep committing; each of their transactions holds both its rows and its links, so
 * the snapshot sees both or neither):
 *
 *   1. the register: entries 1, 2, … each following the one before (an entry removed or altered
 *      is named);
 *   2. no link and no row of a writer that is not registered;
 *   3. for each writer, its links in the database in order, each against its rows (the same walk
 *      as SQLite's chain: a row altered, deleted or inserted is named);
 *   4. its whole chain — the database's runs of links and the archives' (`archives`, from
 *      verifyArchives) — from its register entry's hash to its last link, with no link missing
 *      or twice, and its archive checkpoint present in the archives; a writer whose links are
 *      nowhere had its whole chain deleted.
 *
 * Stops at the first break and names the writer, the link and the row.
 */
export async function verifyPgAuditLog(client: pg.ClientBase, archives: Pick<ArchiveVerification, 'writers'>, onProgress?: (rows: number) => void): Promise<PgChainVerification> {
  let links = 0;
  let rows = 0;
  let head = GENESIS_HASH;
  let entries: Entry[] = [];
  let unchained = 0;
  const result = (firstBreak?: ChainBreak & { writer: string | null }): PgChainVerification => ({ ok: firstBreak === undefined, writers: entries.length, links, rows, unchained, registerHead: head, firstBreak });
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    unchained = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE writer IS NULL')).rows[0]!.n);
    entries = (await client.query<Entry>('SELECT n, writer, replica, lane, started_ms, prev_hash, hash FROM audit_writers ORDER BY n')).rows;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const n = Number(e.n);
      const what = `register entry ${n} (writer ${e.writer}, replica ${e.replica})`;
      const broken = (reason: string) => result({ link: null, seq: null, id: null, writer: e.writer, reason });
      if (n !== i + 1) return broken(`${what} follows entry ${i}: ${n - i - 1 === 1 ? `entry ${i + 1} was` : `entries ${i + 1}–${n - 1} were`} removed from the register`);
      if (e.prev_hash !== head) return broken(`${what} does not follow entry ${i}: the register was rewritten`);
      const h = writerEntryHash(head, [n, e.writer, e.replica, e.lane, Number(e.started_ms)]);
      if (h !== e.hash) return broken(`${what} does not match its hash: it was altered after it was registered`);
      head = h;
    }
    const registered = new Set(entries.map((e) => e.writer));
    const stranger = (await client.query<{ writer: string; what: string }>(
      `(SELECT writer, 'links' AS what FROM audit_links WHERE writer NOT IN (SELECT writer FROM audit_writers) LIMIT 1)
       UNION ALL (SELECT writer, 'rows' FROM predictions WHERE writer IS NOT NULL AND writer NOT IN (SELECT writer FROM audit_writers) LIMIT 1)`,
    )).rows[0] ?? [...archives.writers.keys()].filter((w) => !registered.has(w)).map((writer) => ({ writer, what: 'archived links' }))[0];
    if (stranger !== undefined) return result({ link: null, seq: null, id: null, writer: stranger.writer, reason: `writer ${stranger.writer} has ${stranger.what} but is not in the register: its entry was removed, or they were inserted after the fact` });
    const checkpoints = new Map((await client.query<{ writer: string; link: string; hash: string }>('SELECT writer, link, hash FROM audit_writer_checkpoints')).rows.map((c) => [c.writer, { link: Number(c.link), hash: c.hash }]));

    for (const e of entries) {
      const walk = new ChainWalk(` of writer ${e.writer}`, 'the database');
      const literal = client.escapeLiteral(e.writer);
      await client.query(`DECLARE chain_links NO SCROLL CURSOR FOR SELECT link::float8 AS link, first_seq::float8 AS first_seq, last_seq::float8 AS last_seq, rows, prev_hash, hash FROM audit_links WHERE writer = ${literal} ORDER BY link`);
      await client.query(`DECLARE chain_rows NO SCROLL CURSOR FOR SELECT ${CHAINED_SELECT.join(', ')}, p.row_hash FROM predictions p WHERE p.writer = ${literal} ORDER BY p.seq`);
      const nextLink = cursor<ChainLink>(client, 'chain_links');
      const nextRow = cursor<unknown[]>(client, 'chain_rows', true);
      const fail = (b: ChainBreak) => result({ ...b, writer: e.writer });
      let row = await nextRow();
      for (let l = await nextLink(); l !== undefined; l = await nextLink()) {
        const broken = walk.link(l);
        if (broken !== undefined) return fail(broken);
        while (row !== undefined && (row[0] === null || (row[0] as number) <= l.last_seq)) {
          const bad = walk.row(row.slice(0, -1), row.at(-1) as Buffer | null);
          if (bad !== undefined) return fail(bad);
          rows++;
          if (onProgress !== undefined && rows % 100_000 === 0) onProgress(rows);
          row = await nextRow();
        }
      }
      const broken = walk.close();
      if (broken !== undefined) return fail(broken);
      if (row !== undefined) return fail(walk.stray(row));
      links += walk.links;
      await client.query('CLOSE chain_links; CLOSE chain_rows');
      const tiled = tile(e.writer, e.hash, walk.runs, archives.writers.get(e.writer) ?? [], checkpoints.get(e.writer));
      if (tiled !== undefined) return fail(tiled);
    }
    return result();
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * Joins a writer's runs of links, from the database and from the archives, into its whole
 * chain: from link 1, which follows its register entry, each run following the last, no link
 * missing or twice; and the writer's archive checkpoint (its last archived link) is in the
 * archives with its hash, so an archive removed from the end of a chain is found too.
 */
export function tile(writer: string, start: string, live: readonly ChainRun[], archived: readonly ChainRun[], checkpoint: { link: number; hash: string } | undefined): ChainBreak | undefined {
  const runs = [...live.map((r) => ({ ...r, where: 'the database' })), ...archived.map((r) => ({ ...r, where: 'the archives' }))].sort((a, b) => a.first - b.first);
  const broken = (link: number | null, reason: string): ChainBreak => ({ link, seq: null, id: null, reason });
  if (runs.length === 0) return broken(null, `writer ${writer} is registered but none of its links is in the database or the archives: its whole chain was deleted`);
  let expect = 1;
  let prev = start;
  for (const r of runs) {
    if (r.first < expect) return broken(r.first, `link ${r.first} of writer ${writer} appears twice (again in ${r.where})`);
    if (r.first > expect) return broken(expect, `${r.first - expect === 1 ? `link ${expect}` : `links ${expect}–${r.first - 1}`} of writer ${writer} ${r.first - expect === 1 ? 'is' : 'are'} neither in the database nor in the archives: deleted`);
    if (r.prevHash !== prev) return broken(r.first, `link ${r.first} of writer ${writer} (in ${r.where}) does not follow ${expect === 1 ? "the writer's register entry" : `link ${expect - 1}`}`);
    prev = r.hash;
    expect = r.last + 1;
  }
  if (checkpoint !== undefined && !archived.some((r) => r.last === checkpoint.link && r.hash === checkpoint.hash)) {
    return broken(checkpoint.link, `the archive checkpoint of writer ${writer} says its link ${checkpoint.link} was archived, but the archives do not end a run of its links there: an archive is missing or replaced`);
  }
  return undefined;
}
