/** Messages between the audit log (event-loop thread) and its writer thread. */

/** The columns of a `predictions` row the writer receives, in INSERT order (`seq` and `row_hash` are the writer's). */
export type AuditRow = [
  id: string, requestId: string, tsMs: number, model: string, modelVersion: string, features: string,
  probability: number, decision: number, band: string, threshold: number, latencyMs: number, traceId: string, eventTsMs: number,
  groups: string, monitoring: string | null, bundleHash: string, source: 'scored' | 'observed',
  reasons: string | null, shadowOf: string | null,
];

/** What became of one observation: logged now, already logged by an earlier try, or an id another model holds. */
export interface ObservationOutcome {
  readonly status: 'created' | 'duplicate' | 'conflict';
  /** As logged: for a duplicate, the values of the first try. */
  readonly probability: number;
  readonly decision: number;
  readonly band: string;
}

/** The decision policy of a model version, which the writer applies to a pair's scores. */
export interface PairPolicy {
  readonly version: string;
  readonly threshold: number;
  /** [name, min_probability], highest first. */
  readonly bands: readonly (readonly [string, number])[];
  /** The content hash of the bundle whose policy decided (lineage on every row). */
  readonly bundleHash: string;
}

/** One half of a KServe inference CloudEvent, already mapped: feature objects (request) or scores (response). */
export interface EventHalf {
  readonly model: string;
  readonly ceId: string;
  readonly half: 'request' | 'response';
  /** JSON of the mapped half: an array of feature objects, or an array of scores. */
  readonly payload: string;
  readonly receivedMs: number;
  readonly policy: PairPolicy;
}

/**
 * What the half did: `waiting` for its partner (committed), `paired` (the pair's rows are
 * logged: `rows` new, `duplicateRows` already there), `duplicate` (this half was already
 * received), `mismatch` (the pair's row counts differ: kept in the table, no rows logged).
 */
export type HalfOutcome =
  | { readonly status: 'waiting' | 'duplicate' }
  | { readonly status: 'paired'; readonly rows: number; readonly duplicateRows: number }
  | { readonly status: 'mismatch'; readonly problem: string };

/** Halves counted unpaired by this sweep, and halves still waiting for their partner. */
export interface ExpiryOutcome {
  readonly expired: number;
  readonly waiting: number;
}

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
  | { readonly kind: 'probe' }
  | { readonly kind: 'observe'; readonly id: number; readonly rows: readonly AuditRow[] }
  | { readonly kind: 'half'; readonly id: number; readonly half: EventHalf }
  | { readonly kind: 'expire'; readonly id: number; readonly beforeMs: number; readonly nowMs: number }
  | { readonly kind: 'close' };

export type WriterReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'committed'; readonly groups: readonly number[]; readonly rows: number; readonly seconds: number }
  | { readonly kind: 'partial'; readonly committed: readonly number[]; readonly failed: readonly { group: number; error: string }[]; readonly firstError: string; readonly seconds: number }
  | { readonly kind: 'labels'; readonly id: number; readonly outcome: LabelOutcome }
  | { readonly kind: 'labels-failed'; readonly id: number; readonly error: string }
  | { readonly kind: 'probe'; readonly ok: boolean; readonly error?: string }
  | { readonly kind: 'answer'; readonly id: number; readonly result: readonly ObservationOutcome[] | HalfOutcome | ExpiryOutcome }
  | { readonly kind: 'refused'; readonly id: number; readonly error: string }
  | { readonly kind: 'closed' };
