/**
 * When the evaluation process writes its hourly aggregates back to the SQLite file. Each
 * write takes SQLite's one write lock, and while it holds it the audit-log writer waits (and
 * SQLite's busy handler sleeps 1, 2, 5, 10 … ms between tries), so every /predict answered
 * in that span waits too. The stored aggregates only spare a restart its fold, so they are
 * written at most once per interval (the first change at once), and when the process closes.
 */
export class SaveSchedule {
  private savedAt = Number.NEGATIVE_INFINITY;
  /** Changes in memory that are not stored yet. */
  pending = false;

  constructor(private readonly everyMs: number, private readonly now: () => number = () => performance.now()) {}

  /** True when there is something to store and the interval since the last store has passed. */
  get due(): boolean {
    return this.pending && this.now() - this.savedAt >= this.everyMs;
  }

  /**
   * Runs `store` when it is due (with `force`: whenever a change is pending). Returns the
   * message of a store that threw; its changes stay pending for a later try. A failed store
   * costs nothing else: the evaluation goes on from memory.
   */
  run(store: () => void, force = false): string | undefined {
    if (!(force ? this.pending : this.due)) return undefined;
    try {
      store();
    } catch (err) {
      return (err as Error).message;
    }
    this.savedAt = this.now();
    this.pending = false;
    return undefined;
  }
}

/** How often, at most, the evaluation process stores the aggregates it changed (ms). */
export const AGGREGATE_SAVE_INTERVAL_MS = 60_000;
