import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newPredictionId } from '../../src/predict/prediction-id.js';

describe('newPredictionId', () => {
  it('is a version-7 UUID (RFC 9562) whose first 48 bits are the time in milliseconds', () => {
    const id = newPredictionId(1_767_225_600_000);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), 1_767_225_600_000);
  });

  it('increases strictly, within one millisecond too, and never repeats', () => {
    const ids = Array.from({ length: 20_000 }, () => newPredictionId(1_767_225_700_000));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `${ids[i - 1]} then ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('stays increasing when the clock steps back', () => {
    const a = newPredictionId(1_767_225_800_000);
    const b = newPredictionId(1_767_225_799_000);
    assert.ok(b > a);
  });
});
