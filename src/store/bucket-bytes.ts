import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * An hourly bucket's bytes as PostgreSQL keeps them: deflated (zlib level 1) when that is
 * smaller, else as they are. A bucket is a Float64Array of counts (every bin of every
 * feature, every KS sketch cell, the latency cells): integers, whose float64 bytes are
 * mostly zeros, so a window's buckets deflate to about a ninth (measured on the demo model's
 * 1M-row window: 24.2 MB to 2.7 MB). The first evaluation after a restart moves that over
 * the connection instead of all of it, and inflates it natively (docs/fleet.md, "The first
 * evaluation after a restart on PostgreSQL"). Stored deflated bytes are always shorter than
 * the raw ones, so the length tells them apart, and buckets stored raw by an earlier
 * version load as they are.
 */
export function packBucket(raw: Uint8Array): Buffer {
  const packed = deflateRawSync(raw, { level: 1 });
  return packed.byteLength < raw.byteLength ? packed : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** The raw bytes of a stored bucket of `rawBytes` bytes, or undefined when they cannot be (the bucket is then rebuilt from the rows). */
export function unpackBucket(stored: Uint8Array, rawBytes: number): Uint8Array | undefined {
  if (stored.byteLength === rawBytes) return stored;
  if (stored.byteLength > rawBytes) return undefined;
  try {
    // One output chunk of the bucket's size: no growing and joining of 16 KB chunks.
    return inflateRawSync(stored, { maxOutputLength: rawBytes, chunkSize: Math.max(64, rawBytes) });
  } catch {
    return undefined;
  }
}
