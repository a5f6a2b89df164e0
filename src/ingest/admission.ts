import { RetryLaterError } from '../errors.js';

/** Seconds a sender is told to wait when the queue is full. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The bounded queue in front of the audit-log writer, for ingested rows. A request is
 * admitted while the rows admitted and not yet committed stay within `capacity` (one
 * request larger than the capacity is admitted alone, so no batch is refused forever);
 * otherwise it is refused with 503 and Retry-After, before anything is accepted: back-
 * pressure, never an acknowledgement of what cannot be committed.
 */
export class Admission {
  private depth = 0;

  constructor(
    readonly capacity: number,
    private readonly onDepth: (rows: number) => void = () => {},
  ) {}

  /** Rows admitted and not yet settled. */
  get rows(): number {
    return this.depth;
  }

  /** Runs `work` holding `rows` places, or throws a 503 `RetryLaterError` when they are not free. */
  async run<T>(rows: number, work: () => Promise<T>): Promise<T> {
    if (this.depth > 0 && this.depth + rows > this.capacity) {
      throw new RetryLaterError(503, 'ingest_overloaded', `the audit log is ${this.depth} rows behind (VIGIA_INGEST_QUEUE_ROWS=${this.capacity}); nothing of this request was accepted, retry after ${RETRY_AFTER_SECONDS} s`, RETRY_AFTER_SECONDS);
    }
    this.depth += rows;
    this.onDepth(this.depth);
    try {
      return await work();
    } finally {
      this.depth -= rows;
      this.onDepth(this.depth);
    }
  }
}
