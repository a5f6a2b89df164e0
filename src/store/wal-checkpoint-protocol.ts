/** Messages between the audit log and its WAL checkpointer thread (src/store/wal-checkpoint-worker.ts). */
export type CheckpointRequest = { readonly kind: 'close' };

export type CheckpointReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'closed' };
