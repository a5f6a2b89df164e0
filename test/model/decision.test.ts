import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bandFor, decide } from '../../src/model/decision.js';

const bands = [
  { name: 'critical', minProbability: 0.5, action: 'a', channel: 'c' },
  { name: 'moderate', minProbability: 0.2, action: 'b', channel: 'c' },
  { name: 'low', minProbability: 0, action: 'n', channel: 'c' },
];

describe('decide', () => {
  it('puts each band edge in the upper band, as the seed policy reads (≥ 0.50 critical, 0.20–0.50 moderate)', () => {
    assert.equal(bandFor(bands, 0.5).name, 'critical');
    assert.equal(bandFor(bands, 0.4999).name, 'moderate');
    assert.equal(bandFor(bands, 0.2).name, 'moderate');
    assert.equal(bandFor(bands, 0.1999).name, 'low');
    assert.equal(bandFor(bands, 0).name, 'low');
    assert.equal(bandFor(bands, 1).name, 'critical');
  });

  it('decides 1 at and above the threshold, from the probability alone', () => {
    assert.equal(decide({ threshold: 0.2, bands }, 0.2).decision, 1);
    assert.equal(decide({ threshold: 0.2, bands }, 0.19).decision, 0);
  });
});
