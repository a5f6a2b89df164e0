import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GENESIS_HASH, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import type { ChainBreak } from './audit-verify.js';
import { ChainWalk, type ChainLink, type ChainRun } from './chain-walk.js';
import { PG_ARCHIVE_PATTERN } from './pg-retention.js';

export interface ArchiveVerification {
  readonly ok: boolean;
  readonly files: number;
  readonly links: number;
  readonly rows: number;
  /** The last archived link's hash: the database's checkpoint must equal it. */
  readonly head: string;
  /** PostgreSQL: the runs of each writer's links found in the archives, every link checked against its rows (see ChainWalk). */
  readonly writers: ReadonlyMap<string, readonly ChainRun[]>;
  readonly firstBreak: (ChainBreak & { readonly file: string }) | undefined;
}

interface LinkLine { link: number; first_seq: number; last_seq: number; rows: number; prev_hash: string; hash: string }

/** The archive files of each engine: SQLite's `vigia-audit-<first seq>-<last seq>`, PostgreSQL's `vigia-audit-postgres-<first link>-<last link>-<partition>`. */
const ARCHIVE_NAMES = { sqlite: /^vigia-audit-\d+-\d+\.jsonl\.gz$/, postgres: PG_ARCHIVE_PATTERN } as const;

/**
 * Re-checks the hash chain over the retention archives of `dir` written from one engine's
 * database (SQLite's by `pruneStep`, PostgreSQL's by `pgRetentionPass`; the two chains are
 * apart, and both may share a folder), in name order — oldest first — from the genesis hash:
 * each row against its hash, each link against its rows and the previous link. Names the
 * file and the first row or link that does not match. PostgreSQL archives also hold the links
 * of the writers' chains that covered their rows (`writer_link` lines): each is checked against
 * its rows with the live chain's walk, and the runs they form are returned for the caller to
 * join with the database's links (`verifyPgAuditLog`).
 */
export function verifyArchives(dir: string, engine: keyof typeof ARCHIVE_NAMES = 'sqlite'): ArchiveVerification {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => ARCHIVE_NAMES[engine].test(f)).sort();
  } catch {
    files = [];
  }
  let head = GENESIS_HASH;
  let nLinks = 0;
  let nRows = 0;
  /** One walk per writer and partition: a writer's links of one month come in link order, months apart are joined later. */
  const walks = new Map<string, { writer: string; walk: ChainWalk }>();
  let walk: ChainWalk | undefined;
  let walkWriter: string | undefined;
  const writers = (): Map<string, ChainRun[]> => {
    const out = new Map<string, ChainRun[]>();
    for (const w of walks.values()) {
      let list = out.get(w.writer);
      if (list === undefined) out.set(w.writer, (list = []));
      list.push(...w.walk.runs);
    }
    return out;
  };
  let file = '';
  const fail = (b: ChainBreak): ArchiveVerification => ({ ok: false, files: files.length, links: nLinks, rows: nRows, head, writers: writers(), firstBreak: { ...b, file } });
  for (file of files) {
    const [headerLine, ...rest] = gunzipSync(readFileSync(join(dir, file))).toString('utf8').trimEnd().split('\n');
    const partition = (JSON.parse(headerLine!) as { partition?: string }).partition ?? '';
    const lines = rest.map((l) => JSON.parse(l) as { kind: string } & Record<string, unknown>);
    let link: LinkLine | undefined;
    let hashes: Buffer[] = [];
    const close = (): ChainBreak | undefined => {
      if (link === undefined) return undefined;
      if (hashes.length !== link.rows) return { link: link.link, seq: link.first_seq, id: null, reason: `archived link ${link.link} covers ${link.rows} rows but the archive holds ${hashes.length}` };
      if (link.prev_hash !== head) return { link: link.link, seq: link.first_seq, id: null, reason: `archived link ${link.link} does not follow the previous link` };
      const h = linkHash(head, hashes);
      if (h !== link.hash) return { link: link.link, seq: link.first_seq, id: null, reason: `archived link ${link.link} does not match its rows` };
      head = h;
      nLinks++;
      return undefined;
    };
    for (const line of lines) {
      if (line.kind === 'link') {
        const broken = close();
        if (broken !== undefined) return fail(broken);
        link = line as unknown as LinkLine;
        hashes = [];
      } else if (line.kind === 'writer_link') {
        const writer = line['writer'] as string;
        const key = `${writer}\n${partition}`;
        let w = walks.get(key);
        if (w === undefined) walks.set(key, (w = { writer, walk: new ChainWalk(` of writer ${writer}`, 'the archives') }));
        walk = w.walk;
        walkWriter = writer;
        const broken = walk.link(line as unknown as ChainLink);
        if (broken !== undefined) return fail(broken);
      } else if (line.kind === 'prediction') {
        const row = line['row'] as unknown as ChainedRow;
        const h = rowHash(row);
        if (h.toString('hex') !== line['row_hash']) return fail({ link: link?.link ?? null, seq: row[0], id: row[1], reason: `archived row seq ${row[0]} (prediction ${row[1]}) does not match its hash: it was altered after it was committed` });
        hashes.push(h);
        nRows++;
        if (typeof line['writer'] === 'string') {
          const broken = walk === undefined || walkWriter !== line['writer'] ? undefined : walk.row(row, h, h);
          if (walk === undefined || walkWriter !== line['writer']) return fail({ link: null, seq: row[0], id: row[1], reason: `archived row seq ${row[0]} (prediction ${row[1]}) of writer ${line['writer']} is not covered by any of its writer's links: it was inserted after the fact` });
          if (broken !== undefined) return fail(broken);
        }
      }
    }
    const broken = close();
    if (broken !== undefined) return fail(broken);
  }
  for (const w of walks.values()) {
    const broken = w.walk.close();
    if (broken !== undefined) return fail(broken);
  }
  return { ok: true, files: files.length, links: nLinks, rows: nRows, head, writers: writers(), firstBreak: undefined };
}
