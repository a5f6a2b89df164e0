/** Messages between the audit log (event-loop thread) and its writer thread. */

/** The fourteen columns of a `predictions` row, in INSERT order. */
export type AuditRow = [
  id: string, requestId: string, tsMs: number, model: string, modelVersion: string, features: string,
  probability: number, decision: number, band: string, threshold: number, latencyMs: number, traceId: string, eventTsMs: number,
  shadowOf: string | null,
];

/** One label: the prediction it belongs to, 0 or 1, and when it became known (ms). */
export type LabelRow = [predictionId: string, label: 0 | 1, labelTsMs: number];

/** What happened to a batch of labels. */
export interface LabelOutcome {
  readonly accepted: number;
  readonly duplicate: number;
  /** Ids that already had the other label: reported, never overwritten. */
  readonly conflicting: readonly string[];
  /** Ids of no logged prediction. */
  readonly unknown: readonly string[];
  /** Seconds from each accepted label's prediction (event time) to its label time, by `model@version`. */
  readonly delays: Readonly<Record<string, readonly number[]>>;
}

export type WriterRequest =
  | { readonly kind: 'write'; readonly group: number; readonly rows: readonly AuditRow[] }
  | { readonly kind: 'labels'; readonly id: number; readonly rows: readonly LabelRow[]; readonly receivedMs: number }
  | { readonly kind: 'close' };

export type WriterReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'committed'; readonly groups: readonly number[]; readonly rows: number; readonly seconds: number }
  | { readonly kind: 'partial'; readonly committed: readonly number[]; readonly failed: readonly { group: number; error: string }[]; readonly firstError: string; readonly seconds: number }
  | { readonly kind: 'labels'; readonly id: number; readonly outcome: LabelOutcome }
  | { readonly kind: 'labels-failed'; readonly id: number; readonly error: string }
  | { readonly kind: 'closed' };
