import type pg from 'pg';

/** The aggregates were not stored, and the ones in memory no longer extend the stored ones. */
export class BucketsNotStoredError extends Error {
  override readonly name = 'BucketsNotStoredError';
}

/** Whose aggregates a fenced write stores, and the cursor they were built on. */
export interface Fence {
  /** An ADVISORY_LOCKS key: the lock of this kind of aggregates, taken per model version. */
  readonly lock: number;
  /** The table of their cursors, keyed (model, model_version), with a `through_tx` column. */
  readonly cursors: 'window_cursors' | 'cohort_cursors';
  /** What they are, in the error: "buckets", "cohort buckets". */
  readonly what: string;
  readonly model: string;
  readonly version: string;
  /** The leader term of the evaluator writing (undefined outside a fleet). */
  readonly term: number | undefined;
  /** The stored cursor these aggregates extend (undefined: none was stored). */
  readonly expected: string | undefined;
}

/**
 * Runs `write` in one transaction, only if this evaluator still may store a model version's
 * aggregates: no later leader term exists in `leader_terms`, and the stored cursor is still
 * the one they were built on (compare-and-set under an advisory lock per model version), so a
 * deposed leader finishing its last evaluation and its successor never mix their aggregates.
 * Otherwise a BucketsNotStoredError, and nothing is written.
 */
export async function fencedWrite(c: pg.ClientBase, fence: Fence, write: () => Promise<void>): Promise<void> {
  const { model, version, term } = fence;
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [fence.lock, `${model}@${version}`]);
    if (term !== undefined) {
      const leading = (await c.query<{ term: string | null }>('SELECT max(term)::text AS term FROM leader_terms')).rows[0]!.term;
      if (leading !== null && Number(leading) > term) throw new BucketsNotStoredError(`term ${term} is no longer the fleet's evaluator (term ${leading} is)`);
    }
    const now = (await c.query<{ through: string }>(`SELECT through_tx::text AS through FROM ${fence.cursors} WHERE model = $1 AND model_version = $2`, [model, version])).rows[0]?.through;
    if (now !== fence.expected) throw new BucketsNotStoredError(`another evaluator stored the ${fence.what} of ${model}@${version} since these were read (cursor ${now ?? 'none'}, expected ${fence.expected ?? 'none'})`);
    await write();
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
