import type { AuditRow, EventHalf } from './audit-writer-protocol.js';

/** A `cloudevents` row as both engines read it before deciding what a half does. */
export interface StoredEvent {
  /** The request half (feature objects, JSON), NULL when not received or once paired. */
  readonly request: string | null;
  /** The response half (scores, JSON), NULL when not received or once paired. */
  readonly response: string | null;
  /** When the first half arrived: the event time of the pair's rows. */
  readonly firstMs: number;
  readonly pairedMs: number | null;
}

/** What a half does to a ce-id already in the table: nothing (received before), a mismatch kept with its reason, or the pair's rows to log. */
export type PairStep =
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'mismatch'; readonly problem: string }
  | { readonly kind: 'pair'; readonly rows: AuditRow[] };

/**
 * Pairs a half with the stored row of its ce-id (the same decision on SQLite and PostgreSQL):
 * a half already received, or a ce-id already paired, is a duplicate; halves of different row
 * counts are a mismatch; otherwise the pair's audit rows, decided by the half's policy, with
 * the ce-id as the prediction id of a one-row pair and `<ce-id>/<i>` for the rows of a batch.
 */
export function pairStep(h: EventHalf, stored: StoredEvent): PairStep {
  if (stored.pairedMs !== null || (h.half === 'request' ? stored.request : stored.response) !== null) return { kind: 'duplicate' };
  const features = JSON.parse(h.half === 'request' ? h.payload : stored.request!) as unknown[];
  const scores = JSON.parse(h.half === 'response' ? h.payload : stored.response!) as number[];
  if (features.length !== scores.length) {
    return { kind: 'mismatch', problem: `the request holds ${features.length} instance(s) but the response ${scores.length} score(s)` };
  }
  const { version, threshold, bands, bundleHash } = h.policy;
  const rows = scores.map((p, i): AuditRow => {
    const band = bands.find(([, min]) => p >= min) ?? bands[bands.length - 1]!;
    const id = scores.length === 1 ? h.ceId : `${h.ceId}/${i}`;
    return [id, h.ceId, h.receivedMs, h.model, version, JSON.stringify(features[i]), p, p >= threshold ? 1 : 0, band[0], threshold, 0, '', stored.firstMs, '{}', null, bundleHash, 'observed', null, null];
  });
  return { kind: 'pair', rows };
}
