import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { packBucket, unpackBucket } from '../../src/store/bucket-bytes.js';

/** A bucket as the window folds it: integer counts, a few sums. */
function sparseBucket(size: number): Uint8Array {
  const b = new Float64Array(size);
  for (let i = 0; i < size; i += 37) b[i] = (i % 11) + 1;
  b[1] = 1234.5678;
  return new Uint8Array(b.buffer);
}

describe('packBucket / unpackBucket', () => {
  it('deflates a sparse bucket to a fraction of its bytes and gives back the same bytes', () => {
    const raw = sparseBucket(21_140);
    const packed = packBucket(raw);
    assert.ok(packed.byteLength < raw.byteLength / 5, `${packed.byteLength} bytes packed of ${raw.byteLength}`);
    assert.deepEqual(new Uint8Array(unpackBucket(packed, raw.byteLength)!), raw);
  });

  it('keeps bytes that do not deflate as they are, and reads them back unchanged', () => {
    const raw = new Uint8Array(randomBytes(4096));
    const packed = packBucket(raw);
    assert.equal(packed.byteLength, raw.byteLength);
    assert.deepEqual(new Uint8Array(unpackBucket(packed, raw.byteLength)!), raw);
  });

  it('reads a bucket stored raw by an earlier version as it is', () => {
    const raw = sparseBucket(100);
    assert.equal(unpackBucket(raw, raw.byteLength), raw);
  });

  it('answers undefined for bytes that are neither, so the bucket is rebuilt from the rows', () => {
    assert.equal(unpackBucket(Buffer.from('not a bucket'), 800), undefined);
    assert.equal(unpackBucket(new Uint8Array(900), 800), undefined, 'longer than the layout');
    assert.equal(unpackBucket(packBucket(sparseBucket(200)), 800), undefined, 'inflates to more than the layout holds');
  });
});
