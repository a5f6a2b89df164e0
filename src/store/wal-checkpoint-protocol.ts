/** Messages between the audit log and its WAL checkpointer thread (src/store/wal-checkpoint-worker.ts). */
export type CheckpointRequest = { readonly kind: 'close' };

/**
 * One checkpoint pass: `pending`, the pages of the write-ahead log not yet copied into the
 * database file after it (what a reader still needed, or what was committed meanwhile); or
 * the error it failed with.
 */
export type CheckpointPass =
  | { readonly kind: 'pass'; readonly ok: true; readonly pending: number }
  | { readonly kind: 'pass'; readonly ok: false; readonly error: string };

export type CheckpointReply =
  | { readonly kind: 'ready' }
  | CheckpointPass
  | { readonly kind: 'closed' };
