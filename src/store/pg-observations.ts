import type pg from 'pg';
import { AuditLogClosedError, AuditLogFailedError, toAuditRow, type AuditRecord, type ExpiryOutcome, type HalfOutcome, type ObservationOutcome, type ObservationStore } from './audit-log.js';
import type { AuditRow, EventHalf } from './audit-writer-protocol.js';
import { pairStep } from './cloudevent-pairing.js';
import { defaultReplica } from './pg-audit-chain.js';
import { AUDIT_LOG_LANES } from './pg-audit-log.js';
import { ChainLanes, type ChainedTransaction } from './pg-chain-lanes.js';
import { inTransaction, KnownPartitions, NO_PARTITION } from './postgres.js';

/** Takes the ids no other transaction holds, in id order (two batches sharing ids then wait for each other instead of deadlocking). */
const CLAIM_IDS = `INSERT INTO observed_ids (id, model, event_ts_ms, probability, decision, band)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::smallint[], $6::text[]) ORDER BY 1
  ON CONFLICT (id) DO NOTHING RETURNING id`;

interface Logged {
  readonly model: string;
  readonly probability: number;
  readonly decision: number;
  readonly band: string;
}

/**
 * Logs observation rows in the caller's transaction, each id once whichever replica got it
 * first; what became of each row, in order. The `observed_ids` INSERT is the meeting point: a
 * concurrent transaction holding the same id makes it wait for that one's end, then skip the
 * id if it committed, so exactly one transaction logs it and the others answer its values. An
 * id not yet claimed may still be a prediction Vigia scored (or one logged before the table
 * existed): it is looked up among the predictions, answered as such, and left unclaimed.
 * Within a batch, a repeated id is a duplicate of its first row, as on SQLite. The rows it
 * logs enter the hash chain (`chain`) in the same transaction, as the audit log's rows do.
 */
async function logObservations(c: pg.ClientBase, rows: readonly AuditRow[], chain: ChainedTransaction): Promise<ObservationOutcome[]> {
  const first = new Map<string, AuditRow>();
  for (const r of rows) if (!first.has(r[0])) first.set(r[0], r);
  const unique = [...first.values()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const claimed = new Set((await c.query<{ id: string }>(CLAIM_IDS, [0, 3, 12, 6, 7, 8].map((k) => unique.map((r) => r[k])))).rows.map((r) => r.id));
  const logged = new Map<string, Logged>();
  const lookup = async (sql: string, ids: string[]) => {
    if (ids.length === 0) return [];
    const found = (await c.query<Logged & { id: string }>(sql, [ids])).rows;
    for (const f of found) logged.set(f.id, f);
    return found.map((f) => f.id);
  };
  await lookup('SELECT id, model, probability, decision, band FROM observed_ids WHERE id = ANY($1::text[])', unique.filter((r) => !claimed.has(r[0])).map((r) => r[0]));
  const held = await lookup('SELECT id, model, probability, decision, band FROM predictions WHERE id = ANY($1::text[])', [...claimed]);
  if (held.length > 0) {
    await c.query('DELETE FROM observed_ids WHERE id = ANY($1::text[])', [held]);
    for (const id of held) claimed.delete(id);
  }
  const fresh = unique.filter((r) => claimed.has(r[0]));
  if (fresh.length > 0) await chain.insert(c, fresh);
  const answered = new Set<string>();
  return rows.map((r): ObservationOutcome => {
    const id = r[0];
    if (claimed.has(id) && !answered.has(id)) {
      answered.add(id);
      return { status: 'created', probability: r[6], decision: r[7], band: r[8] };
    }
    // Not found: a repeat of a row created in this batch (or an id whose month retention dropped meanwhile).
    const f = first.get(id)!;
    const was = logged.get(id) ?? { model: f[3], probability: f[6], decision: f[7], band: f[8] };
    return { status: was.model === r[3] ? 'duplicate' : 'conflict', probability: was.probability, decision: was.decision, band: was.band };
  });
}

/**
 * The ingest of predictions made elsewhere on PostgreSQL, with the promises of the SQLite
 * writer across a fleet, the database being where replicas meet:
 *
 * - **Observations** are committed before `observe` resolves (`synchronous_commit = on`) and
 *   are idempotent by id across replicas (`logObservations`): a retry, on any replica, answers
 *   the first try's values; an id of another model is a conflict.
 * - **KServe CloudEvent halves** are committed to `cloudevents` keyed by model and ce-id.
 *   The first half's INSERT creates the row; a second half, on this replica or another, finds
 *   it — its INSERT waits for the first half's transaction if that one is still open — and
 *   locks it (`FOR UPDATE`), so two halves arriving together at two replicas pair exactly
 *   once, the pair's rows logged in the transaction that pairs them.
 * - **Unpaired halves** stay in the table; every replica's sweep marks those past the
 *   timeout, and a row is marked by one sweep only (a concurrent UPDATE re-checks the row it
 *   waited for), so each half is counted once in the fleet. A partner that comes later still
 *   pairs.
 *
 * - **The hash chain** covers the rows logged, as it covers the audit log's: each transaction
 *   that logs rows extends the chain of one of this store's lanes (pg-chain-lanes.ts), its
 *   own writers, numbered after the audit log's lanes of the replica.
 *
 * Each call is its own transaction on the pool, on the event loop (node-postgres waits on a
 * socket; the work is the server's).
 */
export class PgObservationStore implements ObservationStore {
  private readonly partitions = new KnownPartitions();
  private readonly running = new Set<Promise<unknown>>();
  private readonly lanes: ChainLanes;
  private closing = false;

  constructor(
    private readonly pool: pg.Pool,
    opts: { readonly replica?: string } = {},
  ) {
    this.lanes = new ChainLanes(opts.replica ?? defaultReplica(), AUDIT_LOG_LANES);
  }

  /** The current writer of each of this store's lanes that has one. */
  get writers(): string[] {
    return this.lanes.writers;
  }

  observe(records: readonly AuditRecord[]): Promise<ObservationOutcome[]> {
    const rows = records.map(toAuditRow);
    return this.run('the observations could not be committed', rows.map((r) => r[12]), (c, chain) => logObservations(c, rows, chain));
  }

  recordHalf(half: EventHalf): Promise<HalfOutcome> {
    return this.run('the CloudEvent half could not be committed', [half.receivedMs], (c, chain) => this.half(c, half, chain), async () => {
      // The pair's rows take the first half's time, whose month may have no partition yet.
      const r = await this.pool.query<{ first_ms: string }>('SELECT first_ms FROM cloudevents WHERE model = $1 AND ce_id = $2', [half.model, half.ceId]);
      return r.rows.map((row) => Number(row.first_ms));
    });
  }

  private async half(c: pg.ClientBase, h: EventHalf, chain: ChainedTransaction): Promise<HalfOutcome> {
    const request = h.half === 'request' ? h.payload : null;
    const response = h.half === 'response' ? h.payload : null;
    const created = await c.query('INSERT INTO cloudevents (model, ce_id, request, response, first_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model, ce_id) DO NOTHING', [h.model, h.ceId, request, response, h.receivedMs]);
    if (created.rowCount === 1) return { status: 'waiting' };
    const row = (await c.query<{ request: string | null; response: string | null; first_ms: string; paired_ms: string | null }>(
      'SELECT request, response, first_ms, paired_ms FROM cloudevents WHERE model = $1 AND ce_id = $2 FOR UPDATE', [h.model, h.ceId])).rows[0]!;
    const step = pairStep(h, { request: row.request, response: row.response, firstMs: Number(row.first_ms), pairedMs: row.paired_ms === null ? null : Number(row.paired_ms) });
    if (step.kind === 'duplicate') return { status: 'duplicate' };
    if (step.kind === 'mismatch') {
      await c.query('UPDATE cloudevents SET request = coalesce(request, $1), response = coalesce(response, $2), paired_ms = $3, problem = $4 WHERE model = $5 AND ce_id = $6',
        [request, response, h.receivedMs, step.problem, h.model, h.ceId]);
      return { status: 'mismatch', problem: step.problem };
    }
    const outcomes = await logObservations(c, step.rows, chain);
    await c.query('UPDATE cloudevents SET request = NULL, response = NULL, paired_ms = $1 WHERE model = $2 AND ce_id = $3', [h.receivedMs, h.model, h.ceId]);
    const rows = outcomes.filter((o) => o.status === 'created').length;
    return { status: 'paired', rows, duplicateRows: outcomes.length - rows };
  }

  async expireHalves(beforeMs: number, nowMs: number): Promise<ExpiryOutcome> {
    return this.track((async () => {
      try {
        const expired = (await this.pool.query('UPDATE cloudevents SET expired_ms = $1 WHERE paired_ms IS NULL AND expired_ms IS NULL AND first_ms < $2', [nowMs, beforeMs])).rowCount ?? 0;
        const waiting = Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM cloudevents WHERE paired_ms IS NULL AND expired_ms IS NULL')).rows[0]!.n);
        return { expired, waiting };
      } catch (err) {
        throw new AuditLogFailedError(`the unpaired-halves sweep failed: ${(err as Error).message}`);
      }
    })());
  }

  /**
   * One transaction after the partitions of `times` exist. A partition this replica knew may
   * since have been dropped by retention, or the rows' month be one only the transaction
   * learns (`moreTimes`): on "no partition" the transaction is run once more after creating them.
   * Each transaction settles its chained insert: its lane's head moves on only once COMMIT returned.
   */
  private run<T>(what: string, times: readonly number[], work: (c: pg.ClientBase, chain: ChainedTransaction) => Promise<T>, moreTimes?: () => Promise<number[]>): Promise<T> {
    if (this.closing) return Promise.reject(new AuditLogClosedError());
    return this.track((async () => {
      const once = async (ts: readonly number[]) => {
        const chain = this.lanes.begin();
        try {
          const result = await inTransaction(this.pool, (c) => work(c, chain), (c) => this.partitions.ensure(c, ts));
          chain.settle(true);
          return result;
        } catch (err) {
          chain.settle(false);
          throw err;
        }
      };
      try {
        try {
          return await once(times);
        } catch (err) {
          if ((err as { code?: string }).code !== NO_PARTITION) throw err;
          this.partitions.forget();
          return await once([...times, ...(await moreTimes?.() ?? [])]);
        }
      } catch (err) {
        throw new AuditLogFailedError(`${what}: ${(err as Error).message}`);
      }
    })());
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.catch(() => undefined).finally(() => this.running.delete(p));
    return p;
  }

  /** Refuses new work and waits for the transactions running; the pool is closed by its owner. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.running]);
  }
}
