import type pg from 'pg';
import { AuditLogClosedError, AuditLogFailedError, toAuditRow, type AuditLog, type AuditRecord, type CommitObserver, type LabelOutcome, type LabelRow, type LabelStore } from './audit-log.js';
import type { AuditRow } from './audit-writer-protocol.js';
import { defaultReplica, insertLinks, linkColumns, PgChainWriter, type PreparedRows } from './pg-audit-chain.js';
import { inTransaction, isConnectionError, KnownPartitions, NO_PARTITION } from './postgres.js';

/**
 * One bind parameter per column, whatever the batch size: a multi-row VALUES list needs one
 * per value and hits the protocol's limit of 65,535 parameters at 2,978 rows of 22 columns.
 * Every column of `AuditRow` (governance's groups, monitoring attributes and bundle hash,
 * the reasons and the shadow's answered prediction, included), then the hash chain's writer,
 * seq and row hash (src/store/pg-audit-chain.ts).
 */
export const INSERT_PREDICTIONS = `INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, groups, monitoring, bundle_hash, source, reasons, shadow_of, writer, seq, row_hash)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::smallint[], $9::text[], $10::float8[], $11::float8[], $12::text[], $13::bigint[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::bigint[], $22::bytea[])`;

/**
 * A chained group in one statement: its links (a data-modifying WITH) and its rows. A single
 * statement outside BEGIN is its own transaction, so a writer's every commit after its first
 * is one round trip instead of four (BEGIN, rows, links, COMMIT), and still all or nothing.
 */
const INSERT_CHAINED = `WITH links AS (${insertLinks(23)}) ${INSERT_PREDICTIONS}`;

/**
 * Inserts `prepared` rows of `writer` with their links, in the caller's open transaction (or
 * as a statement of its own, once the writer is registered); returns `adopt`, to call only
 * once the transaction committed. The one way rows enter a chain on PostgreSQL: the audit
 * log's groups and the observation store's rows (src/store/pg-chain-lanes.ts) alike.
 */
export async function insertChained(client: pg.ClientBase, writer: PgChainWriter, prepared: PreparedRows): Promise<() => void> {
  const chain = await writer.extend(client, prepared);
  await client.query(INSERT_CHAINED, [
    ...columnsOf(prepared.rows.map((c) => c.row), { writer: writer.id, seqs: prepared.rows.map((c) => c.seq), hashes: prepared.rows.map((c) => c.hash) }),
    ...linkColumns(writer.id, chain.links),
  ]);
  return chain.adopt;
}

const INSERT_LABELS = `INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability)
  SELECT * FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::float8[])
  ON CONFLICT (prediction_id, event_ts_ms) DO NOTHING RETURNING prediction_id`;

/** Columns of a `predictions` row (`AuditRow`). */
const COLUMNS = 19;

/** The rows as one array per column (what `unnest` takes), then the chain's writer, seq and row hash (null when not chained). */
export function columnsOf(rows: readonly AuditRow[], chain?: { writer: string; seqs: readonly number[]; hashes: readonly Buffer[] }): unknown[][] {
  const columns: unknown[][] = Array.from({ length: COLUMNS }, () => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let c = 0; c < COLUMNS; c++) columns[c]![i] = r[c];
  }
  columns.push(rows.map(() => chain?.writer ?? null), chain?.seqs.slice() ?? rows.map(() => null), chain?.hashes.slice() ?? rows.map(() => null));
  return columns;
}

interface Pending {
  readonly rows: AuditRow[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Transactions committing at once (lanes, each with its own chain); appends arriving meanwhile wait and form the next group. */
const MAX_CONCURRENT_COMMITS = 4;

/**
 * The audit log's lanes are 0 to 3 of its replica in the writers' register; the observation
 * store of the same replica numbers its own from here, so the register tells them apart.
 */
export const AUDIT_LOG_LANES = MAX_CONCURRENT_COMMITS;

/** A commit lane: one transaction at a time, extending its own writer's chain. */
interface Lane {
  readonly index: number;
  writer: PgChainWriter | undefined;
}

export interface PgAuditLogOptions {
  /** This replica's name, recorded with each of its writers (default: host name and process id). */
  readonly replica?: string;
  /** False only for the benchmark's comparison: rows are inserted without the hash chain. */
  readonly chained?: boolean;
}

/**
 * The PostgreSQL audit log, with group commit as on SQLite: the appends of one event-loop
 * turn (and those that arrive while MAX_CONCURRENT_COMMITS transactions are running) are
 * inserted in one transaction, and each resolves only after its COMMIT returned with
 * `synchronous_commit = on` (the WAL flushed on the server). A failed group is retried
 * append by append, so one bad row sinks only its own request.
 *
 * Each of the MAX_CONCURRENT_COMMITS lanes is a writer of the hash chain (pg-audit-chain.ts):
 * its transactions are serial, so it extends its own chain in its own commit order, with its
 * head in memory; the lanes and the replicas never wait for one another on a shared head.
 *
 * It runs on the event loop, through a pg Pool, unlike the SQLite writer that needs a worker
 * thread: better-sqlite3 is synchronous and would block the loop for each INSERT and fsync,
 * while node-postgres only writes to a socket and waits for the answer asynchronously — the
 * work (and the fsync) happens in the server's process.
 *
 * Unlike the SQLite log it has no terminal failure: while the database is unreachable each
 * append fails (the prediction answers 503), and the pool reconnects once it is back.
 */
export class PgAuditLog implements AuditLog, LabelStore {
  private queue: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private running = 0;
  private readonly idle: (() => void)[] = [];
  private readonly partitions = new KnownPartitions();
  private closing = false;
  private readonly lanes: readonly Lane[] = Array.from({ length: MAX_CONCURRENT_COMMITS }, (_x, index) => ({ index, writer: undefined }));
  /** The lanes not committing now. */
  private readonly freeLanes = [...this.lanes];
  private readonly replica: string;
  private readonly chained: boolean;

  constructor(
    private readonly pool: pg.Pool,
    private readonly onCommit: CommitObserver = () => {},
    opts: PgAuditLogOptions = {},
  ) {
    this.replica = opts.replica ?? defaultReplica();
    this.chained = opts.chained ?? true;
  }

  /** The current writer of each lane that has one (a new one after a failure). */
  get writers(): string[] {
    return this.lanes.flatMap((l) => (l.writer === undefined ? [] : [l.writer.id]));
  }

  append(records: readonly AuditRecord[]): Promise<void> {
    if (this.closing) return Promise.reject(new AuditLogClosedError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows: records.map(toAuditRow), resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = undefined;
    if (this.queue.length === 0 || this.running >= MAX_CONCURRENT_COMMITS) return;
    const group = this.queue;
    this.queue = [];
    this.running++;
    const lane = this.freeLanes.pop()!;
    void this.commitGroup(group, lane).finally(() => {
      this.freeLanes.push(lane);
      this.running--;
      if (this.queue.length > 0) this.flush();
      else if (this.running === 0) for (const done of this.idle.splice(0)) done();
    });
  }

  private async commitGroup(group: Pending[], lane: Lane): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const rows = group.length === 1 ? group[0]!.rows : group.flatMap((p) => p.rows);
    try {
      await this.insert(rows, lane);
      this.onCommit(rows.length, seconds(), false);
      for (const p of group) p.resolve();
      return;
    } catch (err) {
      if (group.length === 1) {
        this.onCommit(0, seconds(), true);
        group[0]!.reject(new AuditLogFailedError(`the audit-log commit failed: ${(err as Error).message}`));
        return;
      }
    }
    // One bad group must not sink the others: retry each append alone.
    let failed = false;
    for (const p of group) {
      try {
        await this.insert(p.rows, lane);
        p.resolve();
      } catch (e) {
        failed = true;
        p.reject(new AuditLogFailedError(`the audit-log commit failed: ${(e as Error).message}`));
      }
    }
    this.onCommit(0, seconds(), failed);
  }

  /**
   * Inserts one group in one transaction. A month this replica created a partition for may
   * since have been archived and dropped by retention (on any replica): the insert then finds
   * no partition, and is retried once after creating it again.
   */
  private async insert(rows: readonly AuditRow[], lane: Lane): Promise<void> {
    try {
      await this.insertOnce(rows, lane);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION) throw err;
      this.partitions.forget();
      await this.insertOnce(rows, lane);
    }
  }

  /** One transaction: the rows, with their seq and hash in the lane's chain, and its links. A failure retires the lane's writer. */
  private async insertOnce(rows: readonly AuditRow[], lane: Lane): Promise<void> {
    // Hashed before a connection is taken: the lane is this group's alone until it settles.
    const writer = this.chained ? (lane.writer ??= new PgChainWriter(this.replica, lane.index)) : undefined;
    const prepared = await writer?.prepare(rows);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose connection dies between two queries (the server restarted, an
    // administrator ended it) emits 'error' with no listener of the pool's: without this one that
    // would end the process. The client then goes back to the pool destroyed.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      await this.partitions.ensure(client, rows.map((r) => r[12]));
      // The first commit of a writer registers it (a lock and a read): a transaction of several
      // statements. Every later one, like an unchained group, is a single statement.
      const transaction = writer !== undefined && writer.unregistered;
      if (transaction) await client.query('BEGIN');
      try {
        if (writer !== undefined && prepared !== undefined) {
          const adopt = await insertChained(client, writer, prepared);
          if (transaction) await client.query('COMMIT');
          adopt();
        } else {
          await client.query(INSERT_PREDICTIONS, columnsOf(rows));
        }
      } catch (err) {
        // Whether the COMMIT took effect is unknown when the connection broke during it: the
        // chain cannot go on from a head it is unsure of, so the lane starts a new writer.
        lane.writer = undefined;
        if (transaction) {
          await client.query('ROLLBACK').catch((e: Error) => {
            broken = e;
          });
        }
        throw err;
      }
    } catch (err) {
      broken ??= isConnectionError(err) ? (err as Error) : undefined;
      throw err;
    } finally {
      // A broken client keeps the listener: it is destroyed, and may still report its socket's end.
      if (broken === undefined) client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Stores labels for predictions made by any replica: the same label again is a no-op, the
   * other label a reported conflict, never an overwrite — also when two replicas receive the
   * same label at once (the second INSERT waits for the first and does nothing).
   */
  async recordLabels(rows: readonly LabelRow[], receivedMs: number): Promise<LabelOutcome> {
    if (this.closing) throw new AuditLogClosedError();
    try {
      return await inTransaction(this.pool, async (client) => {
        const ids = [...new Set(rows.map((r) => r[0]))];
        const predictions = new Map<string, [string, string, number, number]>();
        for (const p of (await client.query<{ id: string; model: string; model_version: string; event_ts_ms: string; probability: number }>(
          'SELECT id, model, model_version, event_ts_ms, probability FROM predictions WHERE id = ANY($1::text[])', [ids])).rows) {
          predictions.set(p.id, [p.model, p.model_version, Number(p.event_ts_ms), p.probability]);
        }
        const known = new Map<string, number>();
        for (const l of (await client.query<{ prediction_id: string; label: number }>('SELECT prediction_id, label FROM labels WHERE prediction_id = ANY($1::text[])', [ids])).rows) {
          known.set(l.prediction_id, l.label);
        }
        const outcome = { accepted: 0, duplicate: 0, conflicting: [] as string[], unknown: [] as string[], delays: {} as Record<string, number[]> };
        const fresh: LabelRow[] = [];
        const classify = (id: string, label: number, had: number) => {
          if (had === label) outcome.duplicate++;
          else outcome.conflicting.push(id);
        };
        for (const row of rows) {
          const [id, label] = row;
          if (!predictions.has(id)) outcome.unknown.push(id);
          else if (known.has(id)) classify(id, label, known.get(id)!);
          else {
            known.set(id, label);
            fresh.push(row);
          }
        }
        const inserted = new Set<string>();
        if (fresh.length > 0) {
          const cols = [fresh.map((r) => r[0]), fresh.map((r) => r[1]), fresh.map((r) => r[2]), fresh.map(() => receivedMs),
            ...[0, 1, 2, 3].map((k) => fresh.map((r) => predictions.get(r[0])![k]))];
          for (const r of (await client.query<{ prediction_id: string }>(INSERT_LABELS, cols)).rows) inserted.add(r.prediction_id);
        }
        const raced = fresh.filter((r) => !inserted.has(r[0]));
        const winners = new Map<string, number>();
        if (raced.length > 0) {
          for (const l of (await client.query<{ prediction_id: string; label: number }>('SELECT prediction_id, label FROM labels WHERE prediction_id = ANY($1::text[])', [raced.map((r) => r[0])])).rows) {
            winners.set(l.prediction_id, l.label);
          }
        }
        for (const [id, label, labelTs] of fresh) {
          if (!inserted.has(id)) {
            classify(id, label, winners.get(id)!);
            continue;
          }
          const [model, version, eventTs] = predictions.get(id)!;
          (outcome.delays[`${model}@${version}`] ??= []).push(Math.max(0, labelTs - eventTs) / 1000);
          outcome.accepted++;
        }
        return outcome;
      });
    } catch (err) {
      throw new AuditLogFailedError(`storing labels failed: ${(err as Error).message}`);
    }
  }

  /** Commits what is queued and refuses new rows; the pool is closed by its owner. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.flush();
    }
    while (this.running > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
      if (this.queue.length > 0) this.flush();
    }
  }
}

