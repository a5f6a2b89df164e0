import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CHAINED_COLUMNS } from './audit-chain.js';
import type { SqliteDatabase } from './database.js';

/** The archive format: gzip'd JSON Lines, one file per pruning step (see docs/governance.md). */
export const ARCHIVE_FORMAT = 1;
export const archiveFileName = (firstSeq: number, lastSeq: number) => `vigia-audit-${String(firstSeq).padStart(12, '0')}-${String(lastSeq).padStart(12, '0')}.jsonl.gz`;

export interface PruneStep {
  /** Rows archived then removed (0: nothing is past retention). */
  readonly rows: number;
  readonly file: string | undefined;
}

interface LinkRow { link: number; first_seq: number; last_seq: number; rows: number; prev_hash: string; hash: string; committed_ms: number }

/**
 * One small step of retention: the oldest whole links of the hash chain whose rows are all
 * older than `cutoffMs` (decision time), up to about `maxRows` rows, are first written with
 * their labels and their links to a gzip'd JSON Lines file in `archiveDir` (written beside,
 * fsync'd, renamed), then deleted in one short transaction that also moves the chain's
 * checkpoint to the last archived link. Archive plus database always hold every row ever
 * written; a crash between the two leaves a file whose rows are still in the database, which
 * the next step writes again under the same name. Synchronous: run it off the event loop.
 */
export function pruneStep(db: SqliteDatabase, opts: { cutoffMs: number; archiveDir: string; maxRows: number }): PruneStep {
  const links: LinkRow[] = [];
  let rows = 0;
  const candidates = db.prepare('SELECT link, first_seq, last_seq, rows, prev_hash, hash, committed_ms FROM audit_chain ORDER BY link LIMIT 1000').iterate() as IterableIterator<LinkRow>;
  const lastTs = db.prepare('SELECT ts_ms FROM predictions WHERE seq = ?').pluck();
  for (const l of candidates) {
    const ts = lastTs.get(l.last_seq) as number | undefined;
    if (ts === undefined || ts >= opts.cutoffMs || (links.length > 0 && rows + l.rows > opts.maxRows)) break;
    links.push(l);
    rows += l.rows;
  }
  if (links.length === 0) return { rows: 0, file: undefined };
  const first = links[0]!;
  const last = links.at(-1)!;
  const select = db.prepare(
    `SELECT ${CHAINED_COLUMNS.map((c) => `p.${c}`).join(', ')}, hex(p.row_hash), l.label, l.label_ts_ms, l.received_ts_ms
     FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id WHERE p.seq BETWEEN ? AND ? ORDER BY p.seq`,
  ).raw();
  const lines: string[] = [JSON.stringify({ kind: 'archive', format: ARCHIVE_FORMAT, first_link: first.link, last_link: last.link, first_seq: first.first_seq, last_seq: last.last_seq, columns: CHAINED_COLUMNS })];
  let li = 0;
  lines.push(JSON.stringify({ kind: 'link', ...links[0]! }));
  for (const r of select.iterate(first.first_seq, last.last_seq) as IterableIterator<unknown[]>) {
    const seq = r[0] as number;
    while (seq > links[li]!.last_seq) lines.push(JSON.stringify({ kind: 'link', ...links[++li]! }));
    const n = CHAINED_COLUMNS.length;
    lines.push(JSON.stringify({ kind: 'prediction', row: r.slice(0, n), row_hash: (r[n] as string).toLowerCase(), label: r[n + 1], label_ts_ms: r[n + 2], label_received_ts_ms: r[n + 3] }));
  }
  while (li < links.length - 1) lines.push(JSON.stringify({ kind: 'link', ...links[++li]! }));
  mkdirSync(opts.archiveDir, { recursive: true });
  const file = join(opts.archiveDir, archiveFileName(first.first_seq, last.last_seq));
  const partial = `${file}.partial`;
  const fd = openSync(partial, 'w');
  try {
    writeSync(fd, gzipSync(`${lines.join('\n')}\n`));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, file);
  db.transaction(() => {
    db.prepare('DELETE FROM labels WHERE prediction_id IN (SELECT id FROM predictions WHERE seq BETWEEN ? AND ?)').run(first.first_seq, last.last_seq);
    db.prepare('DELETE FROM predictions WHERE seq BETWEEN ? AND ?').run(first.first_seq, last.last_seq);
    db.prepare('DELETE FROM audit_chain WHERE link BETWEEN ? AND ?').run(first.link, last.link);
    db.prepare(
      `INSERT INTO audit_checkpoint (id, link, hash, pruned_rows) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET link = excluded.link, hash = excluded.hash, pruned_rows = pruned_rows + excluded.pruned_rows`,
    ).run(last.link, last.hash, rows);
  }).immediate();
  return { rows, file };
}
