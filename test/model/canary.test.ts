import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CANARY_BUCKETS, stickyBucket } from '../../src/model/canary.js';

describe('stickyBucket', () => {
  it('puts the same id in the same bucket every time, within the bucket range', () => {
    for (const id of ['customer-1', 'acct:42', '', 'ção']) {
      const b = stickyBucket(id);
      assert.equal(stickyBucket(id), b);
      assert.ok(Number.isInteger(b) && b >= 0 && b < CANARY_BUCKETS);
    }
  });

  it('matches FNV-1a 32-bit reference values', () => {
    // FNV-1a("") = 0x811c9dc5, FNV-1a("a") = 0xe40c292c (the published test vectors).
    assert.equal(stickyBucket(''), 0x811c9dc5 % CANARY_BUCKETS);
    assert.equal(stickyBucket('a'), 0xe40c292c % CANARY_BUCKETS);
    assert.equal(stickyBucket('foobar'), 0xbf9cf968 % CANARY_BUCKETS);
  });

  it('spreads sequential ids evenly: 10 % of 20,000 ids fall below bucket 1,000 within half a point', () => {
    let below = 0;
    for (let i = 0; i < 20_000; i++) if (stickyBucket(`customer-${i}`) < CANARY_BUCKETS / 10) below++;
    assert.ok(Math.abs(below / 20_000 - 0.1) < 0.005, `share ${below / 20_000}`);
  });
});
