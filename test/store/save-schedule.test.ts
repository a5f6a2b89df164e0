import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SaveSchedule } from '../../src/store/save-schedule.js';

describe('SaveSchedule', () => {
  it('is due at the first change, then at most once per interval, and only with a change pending', () => {
    let now = 1_000;
    const s = new SaveSchedule(60_000, () => now);
    assert.equal(s.due, false, 'nothing changed yet');
    s.pending = true;
    assert.equal(s.due, true, 'the first change is stored at once');
    assert.equal(s.run(() => {}), undefined);
    assert.equal(s.pending, false);
    s.pending = true;
    now += 59_999;
    assert.equal(s.due, false, 'within the interval');
    now += 1;
    assert.equal(s.due, true, 'the interval has passed');
  });

  it('runs the store only when due, or when forced with a change pending; a store that threw stays pending', () => {
    let now = 0;
    let stores = 0;
    const s = new SaveSchedule(60_000, () => now);
    assert.equal(s.run(() => stores++, true), undefined);
    assert.equal(stores, 0, 'nothing pending: nothing stored, even when forced');
    s.pending = true;
    assert.equal(s.run(() => { throw new Error('database is locked'); }), 'database is locked');
    assert.equal(s.pending, true);
    now += 10;
    assert.equal(s.run(() => stores++), undefined);
    assert.equal(stores, 1, 'tried again at the next refresh');
    s.pending = true;
    s.run(() => stores++);
    assert.equal(stores, 1, 'within the interval');
    s.run(() => stores++, true);
    assert.equal(stores, 2, 'flush');
  });
});
