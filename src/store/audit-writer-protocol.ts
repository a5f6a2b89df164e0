/** Messages between the audit log (event-loop thread) and its writer thread. */

/** The twelve columns of a `predictions` row, in INSERT order. */
export type AuditRow = [
  id: string, requestId: string, tsMs: number, model: string, modelVersion: string, features: string,
  probability: number, decision: number, band: string, threshold: number, latencyMs: number, traceId: string,
];

export type WriterRequest =
  | { readonly kind: 'write'; readonly group: number; readonly rows: readonly AuditRow[] }
  | { readonly kind: 'close' };

export type WriterReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'committed'; readonly groups: readonly number[]; readonly rows: number; readonly seconds: number }
  | { readonly kind: 'partial'; readonly committed: readonly number[]; readonly failed: readonly { group: number; error: string }[]; readonly firstError: string; readonly seconds: number }
  | { readonly kind: 'closed' };
