import pg from 'pg';
import { ADVISORY_LOCKS, connectionConfig } from '../store/postgres.js';

/** Thrown by `asLeader` when this replica is not (or no longer) the fleet's evaluator. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

export interface LeaderElectionOptions {
  readonly url: string;
  readonly replica: string;
  /** How often a follower tries the lock and the leader checks its connection, ms. */
  readonly pollMs: number;
  /** Called on the event loop when this replica becomes the leader (with its term) or stops being it. */
  readonly onChange?: (change: { leader: true; term: number } | { leader: false; reason: string }) => void;
}

/**
 * Elects one evaluator per fleet with a PostgreSQL session advisory lock
 * (`pg_try_advisory_lock`), held on a connection of its own: never a pooled one, whose
 * session another caller would reuse (nor one through PgBouncer in transaction mode), because
 * a session lock belongs to the server session, not to the code that took it.
 *
 * Each election opens a term (a row of `leader_terms`; the term number only rises): the
 * fencing token stored with everything the leader publishes. The leader fences itself as
 * soon as it may have lost the lock — its connection reports an error or ends, or the
 * periodic `SELECT 1` fails or takes longer than a poll period — and publishes nothing from
 * then on: `asLeader` refuses, and what it runs goes through that same connection, so a
 * statement that succeeds proves the session (and so the lock) was alive. The server
 * releases the lock when the session ends (at once when the process dies; after the TCP
 * keepalive on a silent network), and a follower takes it at its next poll.
 */
export class LeaderElection {
  private client: pg.Client | undefined;
  private currentTerm: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly opts: LeaderElectionOptions) {}

  /** Starts campaigning: tries at once, then every poll period. */
  static start(opts: LeaderElectionOptions): LeaderElection {
    const election = new LeaderElection(opts);
    election.schedule(0);
    return election;
  }

  /** This replica's term while it is the leader, else undefined. */
  get term(): number | undefined {
    return this.currentTerm;
  }

  get isLeader(): boolean {
    return this.currentTerm !== undefined;
  }

  /** Runs `work` on the lock's own connection, only while this replica leads (else throws `FencedError`). */
  async asLeader<T>(work: (client: pg.ClientBase, term: number) => Promise<T>): Promise<T> {
    const client = this.client;
    const term = this.currentTerm;
    if (client === undefined || term === undefined) throw new FencedError('this replica is not the fleet evaluator');
    try {
      return await work(client, term);
    } catch (err) {
      if (this.currentTerm !== term) throw new FencedError(`lost the lead during the work: ${(err as Error).message}`);
      throw err;
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule(this.opts.pollMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.currentTerm === undefined) await this.campaign(client);
      else await withTimeout(client.query('SELECT 1'), this.opts.pollMs, 'the leader connection check');
    } catch (err) {
      this.lose(`the leader connection failed: ${(err as Error).message}`);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(connectionConfig(this.opts.url));
    client.on('error', (err) => this.lose(`the leader connection failed: ${err.message}`, client));
    client.on('end', () => this.lose('the leader connection ended', client));
    this.client = client;
    await client.connect();
    return client;
  }

  private async campaign(client: pg.Client): Promise<void> {
    const got = (await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [ADVISORY_LOCKS.evaluator])).rows[0]!.got;
    if (!got || this.closed) return;
    const term = Number((await client.query<{ term: string }>('INSERT INTO leader_terms (replica) VALUES ($1) RETURNING term', [this.opts.replica])).rows[0]!.term);
    if (this.client !== client) return;
    this.currentTerm = term;
    this.opts.onChange?.({ leader: true, term });
  }

  /** Fences at once: no more publishing, the connection (and with it the lock) dropped. */
  private lose(reason: string, from?: pg.Client): void {
    if (from !== undefined && from !== this.client) return;
    const client = this.client;
    this.client = undefined;
    const wasLeader = this.currentTerm !== undefined;
    this.currentTerm = undefined;
    if (wasLeader) this.opts.onChange?.({ leader: false, reason });
    client?.removeAllListeners('end');
    client?.on('error', () => undefined);
    void client?.end().catch(() => undefined);
  }

  /** Steps down (the lock is released with the session) and stops campaigning. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.ticking;
    const client = this.client;
    const wasLeader = this.currentTerm !== undefined;
    this.client = undefined;
    this.currentTerm = undefined;
    if (wasLeader) this.opts.onChange?.({ leader: false, reason: 'closing' });
    if (client !== undefined) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
