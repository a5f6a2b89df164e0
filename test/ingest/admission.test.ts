import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryLaterError } from '../../src/errors.js';
import { Admission } from '../../src/ingest/admission.js';

describe('Admission', () => {
  it('admits rows up to its capacity, refuses more with a 503 and Retry-After, and frees the places when the work settles', async () => {
    const depths: number[] = [];
    const a = new Admission(10, (d) => depths.push(d));
    let release!: () => void;
    const held = a.run(8, () => new Promise<void>((r) => { release = r; }));
    assert.equal(a.rows, 8);
    assert.equal(await a.run(2, async () => 'fits'), 'fits');
    await assert.rejects(a.run(3, async () => 'too many'), (err: unknown) => err instanceof RetryLaterError && err.status === 503 && err.retryAfterSeconds === 1 && /8 rows behind/.test(err.message));
    release();
    await held;
    assert.equal(a.rows, 0);
    assert.deepEqual(depths, [8, 10, 8, 0]);
  });

  it('admits one request larger than the capacity when nothing else waits, so no batch is refused forever', async () => {
    const a = new Admission(5);
    assert.equal(await a.run(1000, async () => 'alone'), 'alone');
  });

  it('frees the places of work that failed', async () => {
    const a = new Admission(5);
    await assert.rejects(a.run(5, async () => { throw new Error('commit failed'); }), /commit failed/);
    assert.equal(a.rows, 0);
  });
});
