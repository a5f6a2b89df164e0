/** Canary shares are drawn in buckets of 0.01 %: a percentage of 10 takes buckets 0–999. */
export const CANARY_BUCKETS = 10_000;

/**
 * The bucket of a caller id, 0 to CANARY_BUCKETS − 1: FNV-1a (32 bit) of its UTF-16 code
 * units, so the same id lands in the same bucket on every replica and every restart (a
 * caller stays on the canary or off it while the percentage stays the same). Pure.
 */
export function stickyBucket(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % CANARY_BUCKETS;
}
