import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { ArchiveFile } from './archive-file.js';
import { CHAINED_COLUMNS, GENESIS_HASH, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import { CHAINED_SELECT } from './pg-audit-chain.js';
import { ADVISORY_LOCKS, monthOf, monthOfPartition, type Month } from './postgres.js';
import { ARCHIVE_FORMAT } from './retention.js';

/**
 * Retention on PostgreSQL, by partition. A month (`predictions_YYYYMM` and `labels_YYYYMM`)
 * whose whole range of event times is past retention — or, while the partitions weigh more
 * than the size budget, the oldest month before the current one — is
 *
 *   1. detached from `predictions` and `labels` with `DETACH PARTITION … CONCURRENTLY`, which
 *      never blocks the inserts of `/predict` (it takes SHARE UPDATE EXCLUSIVE on the parent);
 *      from then on no row can enter it;
 *   2. archived, streamed through a cursor in writer then seq order (the writer-and-seq
 *      index: no sort), with the labels of its rows and the writers' links that cover them
 *      (`audit_links_YYYYMM`, detached with it: a link never spans two months), to gzip'd JSON
 *      Lines files of at most `rowsPerFile` rows, each fsync'd and renamed into place;
 *   3. dropped (`DROP TABLE`, no DELETE, no vacuum debt), rows, labels and links, in the
 *      transaction that moves the archive checkpoint (`audit_archive_checkpoint`) to its last
 *      link and each writer's checkpoint (`audit_writer_checkpoints`) to its last archived link;
 *      the ids of the month's observations (`observed_ids`, not partitioned) are deleted in it too.
 *
 * A replica that dies anywhere leaves the rows in an attached partition, in a detached table
 * (which the next pass, on any replica, archives and drops first), or in fsync'd archives.
 * Files written past the checkpoint by a pass that died before its DROP committed are removed
 * and written again. One replica at a time: a session advisory lock on the pass's own
 * connection (released when that connection ends).
 */

/** Archive file of a PostgreSQL partition: links first (12 digits, so name order is chain order), then the partition. */
export const pgArchiveFileName = (firstLink: number, lastLink: number, partition: string) =>
  `vigia-audit-postgres-${String(firstLink).padStart(12, '0')}-${String(lastLink).padStart(12, '0')}-${partition}.jsonl.gz`;
export const PG_ARCHIVE_PATTERN = /^vigia-audit-postgres-(\d{12})-(\d{12})-predictions_\d{6}\.jsonl\.gz$/;

export interface PgRetentionOptions {
  /** Months whose last event time is before this are archived then dropped. */
  readonly cutoffMs: number;
  /** Now: the current month is never dropped for the size budget. */
  readonly nowMs: number;
  readonly archiveDir: string;
  /** Bytes of the partitions (pg_total_relation_size) above which the oldest months go, whatever their age (0: none). */
  readonly sizeBudgetBytes: number;
  /** Who writes the archives (their header names it). */
  readonly replica: string;
  /** Rows per link of the archives' chain. */
  readonly linkRows?: number;
  /** Rows per archive file (a month is split in several). */
  readonly rowsPerFile?: number;
  /** After each month archived and dropped. */
  readonly onArchived?: (rows: number, month: string) => void;
}

export interface PgRetentionPass {
  readonly rows: number;
  readonly files: number;
  readonly months: string[];
  /** Another replica holds the retention lock: this pass did nothing. */
  readonly busy: boolean;
}

export interface Checkpoint { readonly link: number; readonly hash: string; readonly rows: number }

interface Candidate extends Month {
  /** Still a partition of `predictions`, detached but not yet dropped, or half detached (a DETACH CONCURRENTLY interrupted). */
  readonly state: 'attached' | 'detached' | 'pending';
}

const DEFAULT_LINK_ROWS = 2000;
const DEFAULT_ROWS_PER_FILE = 200_000;

/** One retention pass: every month past retention, then the oldest while over the size budget. */
export async function pgRetentionPass(client: pg.ClientBase, opts: PgRetentionOptions): Promise<PgRetentionPass> {
  const locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ADVISORY_LOCKS.retention])).rows[0]!.ok;
  if (!locked) return { rows: 0, files: 0, months: [], busy: true };
  let rows = 0;
  let files = 0;
  const months: string[] = [];
  try {
    const version = Number((await client.query<{ v: string }>('SELECT current_setting(\'server_version_num\') AS v')).rows[0]!.v);
    if (version < 140000) throw new Error(`retention on PostgreSQL needs PostgreSQL 14 or later (DETACH PARTITION CONCURRENTLY); this server is ${version}`);
    const current = monthOf(opts.nowMs).fromMs;
    for (;;) {
      const candidates = await listMonths(client);
      // A month a dead pass left detached comes first: its rows are in no partition any more.
      const pick = candidates.find((c) => c.state !== 'attached')
        ?? candidates.find((c) => c.toMs <= opts.cutoffMs)
        ?? (opts.sizeBudgetBytes > 0 && (await partitionBytes(client)) > opts.sizeBudgetBytes ? candidates.find((c) => c.toMs <= current) : undefined);
      if (pick === undefined) break;
      await detach(client, pick);
      const done = await archiveAndDrop(client, pick, opts);
      rows += done.rows;
      files += done.files;
      months.push(pick.name);
      opts.onArchived?.(done.rows, pick.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.retention]).catch(() => undefined);
  }
  return { rows, files, months, busy: false };
}

/** The months that have a predictions table, oldest first, attached or not. */
async function listMonths(client: pg.ClientBase): Promise<Candidate[]> {
  const r = await client.query<{ relname: string; attached: boolean; pending: boolean }>(
    `SELECT c.relname, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
     FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
     WHERE c.relkind = 'r' AND c.relname ~ '^predictions_[0-9]{6}$' AND pg_table_is_visible(c.oid)
     ORDER BY c.relname`,
  );
  return r.rows.flatMap((row) => {
    const m = monthOfPartition(row.relname);
    return m === undefined ? [] : [{ ...m, state: row.pending ? 'pending' : row.attached ? 'attached' : 'detached' } satisfies Candidate];
  });
}

/** Bytes of every predictions and labels partition (and leftover detached month), indexes and TOAST included. */
async function partitionBytes(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ bytes: string | null }>(
    `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c
     WHERE c.relkind = 'r' AND c.relname ~ '^(predictions|labels|audit_links)_[0-9]{6}$' AND pg_table_is_visible(c.oid)`,
  );
  return Number(r.rows[0]!.bytes ?? 0);
}

async function exists(client: pg.ClientBase, table: string): Promise<{ attached: boolean; pending: boolean } | undefined> {
  const r = await client.query<{ attached: boolean; pending: boolean }>(
    `SELECT i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
     FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid WHERE c.oid = to_regclass($1)`, [table],
  );
  return r.rows[0];
}

/**
 * Detaches the month's predictions, then its labels: once the predictions are out, no label
 * can be stored for them (a label needs its prediction), so the labels table is complete when
 * it is detached in turn. A DETACH CONCURRENTLY interrupted earlier is finished (FINALIZE).
 */
async function detach(client: pg.ClientBase, month: Month): Promise<void> {
  for (const [parent, table] of [['predictions', month.name], ['labels', month.labels], ['audit_links', month.links]] as const) {
    const state = await exists(client, table);
    if (state === undefined || !state.attached) continue;
    await client.query(`ALTER TABLE ${parent} DETACH PARTITION ${table} ${state.pending ? 'FINALIZE' : 'CONCURRENTLY'}`);
  }
}

/** Where the chain of the archives ends: the last archived link, its hash and the rows archived so far (genesis when none). */
export async function readCheckpoint(client: pg.ClientBase): Promise<Checkpoint> {
  const r = await client.query<{ link: string; hash: string; archived_rows: string }>('SELECT link, hash, archived_rows FROM audit_archive_checkpoint WHERE id = 1');
  const row = r.rows[0];
  return row === undefined ? { link: 0, hash: GENESIS_HASH, rows: 0 } : { link: Number(row.link), hash: row.hash, rows: Number(row.archived_rows) };
}

/** Archives past the checkpoint were written by a pass whose DROP never committed: their rows are still in the database. */
async function removeUncommitted(dir: string, checkpointLink: number): Promise<void> {
  for (const f of await readdir(dir)) {
    const m = PG_ARCHIVE_PATTERN.exec(f.replace(/\.partial$/, ''));
    if (m !== null && Number(m[1]) > checkpointLink) await unlink(join(dir, f));
  }
}

/**
 * The month's rows with their labels, in the archive's `row` order (`seq` first, filled in by
 * the archiver for rows written before the chain), then the row's writer and seq: in writer
 * then seq order (the writer-and-seq index), so each writer's links come in chain order;
 * rows without a writer last.
 */
function selectRows(month: Month, withLabels: boolean): string {
  const label = withLabels ? 'l.label, l.label_ts_ms::float8, l.received_ts_ms::float8' : 'NULL, NULL, NULL';
  const join = withLabels ? `LEFT JOIN ${month.labels} l ON l.prediction_id = p.id` : '';
  return `SELECT ${CHAINED_SELECT.slice(1).join(', ')}, ${label}, p.writer, p.seq::float8 FROM ${month.name} p ${join} ORDER BY p.writer, p.seq`;
}

interface ArchivedLink { writer: string; link: number; first_seq: number; last_seq: number; rows: number; prev_hash: string; hash: string; committed_ms: number }

/** Reads the month's links in writer then link order, a page at a time, from a cursor of the open transaction. */
function linkReader(client: pg.ClientBase): () => Promise<ArchivedLink | undefined> {
  let page: ArchivedLink[] = [];
  let done = false;
  return async () => {
    if (page.length === 0 && !done) {
      page = (await client.query<ArchivedLink>('FETCH 1000 FROM archive_links')).rows.reverse();
      done = page.length === 0;
    }
    return page.pop();
  };
}

/**
 * Writes the detached month to archives (every row, its label, the writers' links that cover
 * them, and the archives' own links of `linkRows` rows chained from the checkpoint), then drops
 * it and moves the checkpoints in one transaction.
 */
async function archiveAndDrop(client: pg.ClientBase, month: Month, opts: PgRetentionOptions): Promise<{ rows: number; files: number }> {
  const linkRows = opts.linkRows ?? DEFAULT_LINK_ROWS;
  const rowsPerFile = Math.max(linkRows, Math.floor((opts.rowsPerFile ?? DEFAULT_ROWS_PER_FILE) / linkRows) * linkRows);
  const checkpoint = await readCheckpoint(client);
  const total = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${month.name}`)).rows[0]!.n);
  const withLabels = (await exists(client, month.labels)) !== undefined;
  const withLinks = (await exists(client, month.links)) !== undefined;
  let head = checkpoint.hash;
  let link = checkpoint.link;
  let seq = checkpoint.rows;
  let files = 0;
  /** Each writer's last link archived here. */
  const writerHeads = new Map<string, { link: number; hash: string }>();
  if (total > 0) {
    await mkdir(opts.archiveDir, { recursive: true });
    await removeUncommitted(opts.archiveDir, checkpoint.link);
    const startedMs = Date.now();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let archive: ArchiveFile | undefined;
    try {
      await client.query(`DECLARE archive_rows NO SCROLL CURSOR FOR ${selectRows(month, withLabels)}`);
      await client.query(`DECLARE archive_links NO SCROLL CURSOR FOR ${withLinks
        ? `SELECT writer, link::float8 AS link, first_seq::float8 AS first_seq, last_seq::float8 AS last_seq, rows, prev_hash, hash, committed_ms::float8 AS committed_ms FROM ${month.links} ORDER BY writer, link`
        : 'SELECT NULL::text AS writer WHERE false'}`);
      const nextLink = linkReader(client);
      let pendingLink = await nextLink();
      let current: ArchivedLink | undefined;
      /** Writes the writers' links that come before a row of `writer` at `writerSeq` (all that are left, without arguments). */
      const linksUpTo = async (writer?: string, writerSeq?: number) => {
        while (pendingLink !== undefined && (writer === undefined || pendingLink.writer < writer || (pendingLink.writer === writer && pendingLink.first_seq <= writerSeq!))) {
          current = pendingLink;
          const { writer: w, ...rest } = current;
          await archive!.line({ kind: 'writer_link', writer: w, ...rest });
          writerHeads.set(w, { link: current.link, hash: current.hash });
          pendingLink = await nextLink();
        }
      };
      let fileRows = 0;
      for (;;) {
        const batch = await client.query<unknown[]>({ text: `FETCH ${linkRows} FROM archive_rows`, rowMode: 'array' });
        if (batch.rows.length === 0) break;
        if (archive === undefined || fileRows + batch.rows.length > rowsPerFile) {
          if (archive !== undefined) {
            await archive.commit();
            files++;
          }
          const fileFirst = seq + 1;
          const fileLast = Math.min(checkpoint.rows + total, seq + rowsPerFile);
          const linksInFile = Math.ceil((fileLast - seq) / linkRows);
          archive = await ArchiveFile.create(join(opts.archiveDir, pgArchiveFileName(link + 1, link + linksInFile, month.name)));
          await archive.line({
            kind: 'archive', format: ARCHIVE_FORMAT, engine: 'postgres', partition: month.name, labels_partition: month.labels,
            from_ms: month.fromMs, to_ms: month.toMs, replica: opts.replica,
            first_link: link + 1, last_link: link + linksInFile, first_seq: fileFirst, last_seq: fileLast, columns: CHAINED_COLUMNS,
          });
          fileRows = 0;
        }
        const n = CHAINED_COLUMNS.length - 1;
        // A chained row keeps its seq in its writer's chain (so its hash is the one its link
        // covers); a row written before the chain is numbered by the archives, as before.
        const rows = batch.rows.map((r) => {
          ++seq;
          return [r[n + 4] ?? seq, ...r.slice(0, n)] as unknown as ChainedRow;
        });
        const hashes = rows.map(rowHash);
        const prev = head;
        head = linkHash(prev, hashes);
        link++;
        await archive.line({ kind: 'link', link, first_seq: seq - rows.length + 1, last_seq: seq, rows: rows.length, prev_hash: prev, hash: head, committed_ms: startedMs });
        for (let i = 0; i < rows.length; i++) {
          const r = batch.rows[i]!;
          const writer = r[n + 3] as string | null;
          if (writer !== null && (current === undefined || current.writer !== writer || (rows[i]![0] as number) > current.last_seq)) await linksUpTo(writer, rows[i]![0] as number);
          await archive.line({ kind: 'prediction', row: rows[i], row_hash: hashes[i]!.toString('hex'), writer, label: r[n], label_ts_ms: r[n + 1], label_received_ts_ms: r[n + 2] });
        }
        fileRows += rows.length;
      }
      // Links left without rows (theirs were deleted) are archived too: verify names them.
      await linksUpTo();
      await client.query('COMMIT');
      if (seq - checkpoint.rows !== total) throw new Error(`${month.name} held ${total} rows but ${seq - checkpoint.rows} were read`);
      await archive!.commit();
      files++;
      archive = undefined;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      await archive?.abandon();
      throw err;
    }
  }
  // Only now, with every archive on disk: the month goes, and the checkpoint moves, together.
  await client.query('BEGIN');
  try {
    await client.query(`DROP TABLE ${month.name}`);
    await client.query(`DROP TABLE IF EXISTS ${month.labels}`);
    await client.query(`DROP TABLE IF EXISTS ${month.links}`);
    // Each writer's last archived link: verify checks the archives still hold it (a writer's
    // chain that ended in the archives has no later link to show an archive was removed).
    await client.query(
      `INSERT INTO audit_writer_checkpoints AS c (writer, link, hash) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
       ON CONFLICT (writer) DO UPDATE SET link = excluded.link, hash = excluded.hash WHERE excluded.link > c.link`,
      [[...writerHeads.keys()], [...writerHeads.values()].map((h) => h.link), [...writerHeads.values()].map((h) => h.hash)],
    );
    // The month's observation ids go with it (src/store/pg-observations.ts); the other months' stay.
    await client.query('DELETE FROM observed_ids WHERE event_ts_ms >= $1 AND event_ts_ms < $2', [month.fromMs, month.toMs]);
    const moved = await client.query(
      `INSERT INTO audit_archive_checkpoint AS c (id, link, hash, archived_rows) VALUES (1, $1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET link = excluded.link, hash = excluded.hash, archived_rows = excluded.archived_rows WHERE c.link = $4`,
      [link, head, seq, checkpoint.link],
    );
    if (moved.rowCount !== 1) throw new Error('the archive checkpoint moved under this pass (another replica archived meanwhile)');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { rows: total, files };
}
