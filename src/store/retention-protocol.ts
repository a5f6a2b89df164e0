/** Messages between the retention scheduler (event loop) and its thread. */

/** The id of the passes the thread starts itself when the database is over its size budget (the scheduler's ids start at 1). */
export const BUDGET_PASS_ID = 0;
export type RetentionRequest = { readonly kind: 'prune'; readonly id: number; readonly cutoffMs: number; readonly nowMs: number } | { readonly kind: 'close' };

export type RetentionReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'progress'; readonly rows: number }
  | { readonly kind: 'pruned'; readonly id: number; readonly rows: number; readonly files: number }
  | { readonly kind: 'failed'; readonly id: number; readonly rows: number; readonly error: string };
