import { linkHash, rowHash, type ChainedRow } from './audit-chain.js';
import type { ChainBreak } from './audit-verify.js';

/** A link as both engines store it (SQLite's audit_chain, PostgreSQL's audit_links, the archives' link lines). */
export interface ChainLink {
  readonly link: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly rows: number;
  readonly prev_hash: string;
  readonly hash: string;
}

/** Consecutive links checked against one another: where the run starts (its first link's previous hash) and ends. */
export interface ChainRun {
  readonly first: number;
  last: number;
  readonly prevHash: string;
  hash: string;
}

/**
 * Walks one chain, link after link, each link's rows in `seq` order: every row against its
 * stored hash, every link against its rows and against the link before it. The caller feeds it
 * from wherever the chain is stored (SQLite, PostgreSQL, archives) and stops at the first break
 * it returns. Links whose numbers do not follow one another (a PostgreSQL writer's links, some
 * of which lie in archives) start a new run; `runs` lists them for the caller to tile.
 */
export class ChainWalk {
  links = 0;
  rows = 0;
  readonly runs: ChainRun[] = [];
  private open: { l: ChainLink; hashes: Buffer[] } | undefined;

  /**
   * `where`: how messages name the chain (e.g. ` of writer 3f2a…`), `place`: where its rows are
   * ("the database", "the archives"). `byHash`: every link must follow the one before whatever
   * its number (SQLite's single chain, whose link numbers may restart once retention removed
   * them all); otherwise a link whose number does not follow starts a new run.
   */
  constructor(
    private readonly where: string,
    private readonly place: string,
    private readonly byHash = false,
  ) {}

  /** The hash the chain has reached (its last complete link's), once a link was closed. */
  get head(): string | undefined {
    return this.runs.at(-1)?.hash;
  }

  private name(link: number): string {
    return `link ${link}${this.where}`;
  }

  /** Opens `l`, after checking the link before it is complete. */
  link(l: ChainLink): ChainBreak | undefined {
    const broken = this.close();
    if (broken !== undefined) return broken;
    const run = this.runs.at(-1);
    if (run !== undefined && !this.byHash && l.link <= run.last) return { link: l.link, seq: l.first_seq, id: null, reason: `${this.name(l.link)} appears twice` };
    if (run !== undefined && (this.byHash || l.link === run.last + 1) && l.prev_hash !== run.hash) {
      return { link: l.link, seq: l.first_seq, id: null, reason: `${this.name(l.link)} does not follow link ${run.last}: its previous hash ${l.prev_hash.slice(0, 16)}… is not ${run.hash.slice(0, 16)}…` };
    }
    this.open = { l, hashes: [] };
    return undefined;
  }

  /**
   * One row (the chained columns, seq first) whose seq is at most the open link's last; its
   * stored hash (null when none), and its hash when the caller computed it already.
   */
  row(row: readonly unknown[], stored: Buffer | null, computed?: Buffer): ChainBreak | undefined {
    const seq = row[0] as number;
    const id = row[1] as string;
    const o = this.open;
    if (o === undefined || seq === null || seq < o.l.first_seq) {
      return { link: o?.l.link ?? null, seq, id, reason: `row seq ${seq} (prediction ${id})${this.where} lies between links: it was inserted after the fact` };
    }
    const h = computed ?? rowHash(row as unknown as ChainedRow);
    if (stored === null || !h.equals(stored)) return { link: o.l.link, seq, id, reason: `row seq ${seq} (prediction ${id})${this.where} does not match its hash: it was altered after it was committed` };
    o.hashes.push(h);
    this.rows++;
    return undefined;
  }

  /** A row past the last link. */
  stray(row: readonly unknown[]): ChainBreak {
    return { link: null, seq: row[0] as number, id: row[1] as string, reason: `row seq ${row[0] as number} (prediction ${row[1] as string})${this.where} is after the last link: it was inserted after the fact` };
  }

  /** Closes the open link: its row count and its hash. */
  close(): ChainBreak | undefined {
    const o = this.open;
    if (o === undefined) return undefined;
    this.open = undefined;
    const { l, hashes } = o;
    if (hashes.length !== l.rows) return { link: l.link, seq: l.first_seq, id: null, reason: `${this.name(l.link)} covers ${l.rows} rows (seq ${l.first_seq}–${l.last_seq}) but ${hashes.length} are in ${this.place}: rows were ${hashes.length < l.rows ? 'deleted' : 'inserted'}` };
    if (linkHash(l.prev_hash, hashes) !== l.hash) return { link: l.link, seq: l.first_seq, id: null, reason: `${this.name(l.link)} (seq ${l.first_seq}–${l.last_seq}) does not match its rows: the link or its rows' stored hashes were rewritten` };
    const run = this.runs.at(-1);
    if (run !== undefined && (this.byHash || l.link === run.last + 1)) {
      run.last = l.link;
      run.hash = l.hash;
    } else {
      this.runs.push({ first: l.link, last: l.link, prevHash: l.prev_hash, hash: l.hash });
    }
    this.links++;
    return undefined;
  }
}
