import type pg from 'pg';
import type { AuditRow } from './audit-writer-protocol.js';
import { PgChainWriter } from './pg-audit-chain.js';
import { insertChained } from './pg-audit-log.js';

/** A commit lane: one transaction at a time, extending its own writer's chain. */
interface Lane {
  readonly index: number;
  writer: PgChainWriter | undefined;
}

/** The chained insert of one transaction: `insert` inside it (once), `settle` once it has ended. */
export interface ChainedTransaction {
  /** Chains `rows` to a lane's writer and inserts them with their links, in `client`'s open transaction. */
  insert(client: pg.ClientBase, rows: readonly AuditRow[]): Promise<void>;
  /** After COMMIT returned (`committed`) or the transaction failed: the lane's head moves on, or its writer retires. */
  settle(committed: boolean): void;
}

/** A transaction chained its rows twice: the second extend would start from a head the first has not adopted yet. */
export class ChainedTwiceError extends Error {
  constructor() {
    super('a transaction chains its rows in one insert: the second would fork its lane\'s chain');
    this.name = 'ChainedTwiceError';
  }
}

/**
 * The hash-chain lanes of a store whose transactions run side by side, each request its own
 * (the observation store), unlike the audit log that queues its appends into at most four
 * groups. A transaction takes a lane when it has rows to chain — known only inside it, once
 * their ids are claimed — and keeps it until it has ended, so a lane's writer extends its
 * chain in commit order (pg-audit-chain.ts). When every lane is taken a new one opens rather
 * than making a transaction wait for another's lane while it holds locks: the lanes number at
 * most the transactions in flight, which the pool's connections bound, and each registers
 * one writer per process life (and one more after each failure).
 *
 * Lanes are numbered from `firstIndex`, after the audit log's lanes of the same replica, so
 * the writers' register tells the two apart.
 */
export class ChainLanes {
  private readonly lanes: Lane[] = [];
  /** The lanes no transaction holds now. */
  private readonly free: Lane[] = [];

  constructor(
    private readonly replica: string,
    private readonly firstIndex: number,
  ) {}

  /** The current writer of each lane that has one (a new one after a failure). */
  get writers(): string[] {
    return this.lanes.flatMap((l) => (l.writer === undefined ? [] : [l.writer.id]));
  }

  /** A transaction's chained insert; it takes a lane only if it inserts. */
  begin(): ChainedTransaction {
    let lane: Lane | undefined;
    let adopt: (() => void) | undefined;
    return {
      insert: async (client, rows) => {
        if (lane !== undefined) throw new ChainedTwiceError();
        lane = this.take();
        const writer = (lane.writer ??= new PgChainWriter(this.replica, lane.index));
        // Hashed inside the transaction, unlike the audit log's groups: which rows it inserts
        // is known only once their ids are claimed. The hashing yields every 256 rows.
        adopt = await insertChained(client, writer, await writer.prepare(rows));
      },
      settle: (committed) => {
        if (lane === undefined) return;
        // A failed transaction — or a COMMIT whose answer was lost — leaves the head uncertain.
        if (committed && adopt !== undefined) adopt();
        else lane.writer = undefined;
        this.free.push(lane);
        lane = undefined;
      },
    };
  }

  private take(): Lane {
    const lane = this.free.pop();
    if (lane !== undefined) return lane;
    const opened: Lane = { index: this.firstIndex + this.lanes.length, writer: undefined };
    this.lanes.push(opened);
    return opened;
  }
}
