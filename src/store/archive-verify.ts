import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GENESIS_HASH, linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import type { ChainBreak } from './audit-verify.js';
import { PG_ARCHIVE_PATTERN } from './pg-retention.js';

export interface ArchiveVerification {
  readonly ok: boolean;
  readonly files: number;
  readonly links: number;
  readonly rows: number;
  /** The last archived link's hash: the database's checkpoint must equal it. */
  readonly head: string;
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
 * file and the first row or link that does not match.
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
  for (const file of files) {
    const fail = (b: ChainBreak): ArchiveVerification => ({ ok: false, files: files.length, links: nLinks, rows: nRows, head, firstBreak: { ...b, file } });
    const lines = gunzipSync(readFileSync(join(dir, file))).toString('utf8').trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as { kind: string } & Record<string, unknown>);
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
      } else if (line.kind === 'prediction') {
        const row = line['row'] as unknown as ChainedRow;
        const h = rowHash(row);
        if (h.toString('hex') !== line['row_hash']) return fail({ link: link?.link ?? null, seq: row[0], id: row[1], reason: `archived row seq ${row[0]} (prediction ${row[1]}) does not match its hash: it was altered after it was committed` });
        hashes.push(h);
        nRows++;
      }
    }
    const broken = close();
    if (broken !== undefined) return fail(broken);
  }
  return { ok: true, files: files.length, links: nLinks, rows: nRows, head, firstBreak: undefined };
}
