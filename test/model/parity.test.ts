import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BundleError } from '../../src/errors.js';
import { loadBundle } from '../../src/model/bundle.js';
import { checkParity, parityMismatches, readParity } from '../../src/model/parity.js';
import { FIXTURE_MODELS, tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const parityFile = (content: string) => {
  const dir = join(tmp.dir, `b${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'parity.json'), content);
  return dir;
};

describe('parityMismatches', () => {
  it('lists the rows further than the tolerance, with both values, and counts NaN as a mismatch', () => {
    const bad = parityMismatches([0.1, 0.5, 0.9, 0.3], [0.10005, 0.6, 0.9, Number.NaN], 1e-4);
    assert.deepEqual(bad.map((m) => m.row), [1, 3]);
    assert.equal(bad[0]!.expected, 0.5);
    assert.equal(bad[0]!.served, 0.6);
    assert.ok(Math.abs(bad[0]!.difference - 0.1) < 1e-12);
  });
});

describe('readParity', () => {
  it('is undefined for a bundle without a parity file', async () => {
    assert.equal(await readParity(join(tmp.dir, 'nowhere')), undefined);
  });

  it('names the file and the field of a malformed parity file', async () => {
    await assert.rejects(readParity(parityFile('{')), /parity.json: is not valid JSON/);
    await assert.rejects(readParity(parityFile('{"rows": []}')), /parity.json: field "rows" must be a non-empty array/);
    await assert.rejects(readParity(parityFile('{"tolerance": 2, "rows": [{"features": {}, "probability": 0.5}]}')), /field "tolerance" must be a number from 0 to 1, got 2/);
    await assert.rejects(readParity(parityFile('{"rows": [{"features": {}, "probability": 1.5}]}')), /field "rows\[0\].probability" must be a probability from 0 to 1, got 1.5/);
  });
});

describe('checkParity', () => {
  it("passes the fixtures' own parity files, written by tools/build_parity.py", async () => {
    for (const name of ['tensor-model', 'zipmap-model']) {
      const model = await loadBundle(join(FIXTURE_MODELS, name));
      try {
        await checkParity(model, (await readParity(model.dir))!);
      } finally {
        await model.scorer?.close();
      }
    }
  });

  it("refuses another model's parity file, naming every row that differs", async () => {
    const model = await loadBundle(join(FIXTURE_MODELS, 'zipmap-model'));
    try {
      const other = (await readParity(join(FIXTURE_MODELS, 'tensor-model')))!;
      await assert.rejects(checkParity(model, other), (err: unknown) => {
        assert.ok(err instanceof BundleError);
        assert.match(err.message, /parity check failed: \d of 8 rows differ by more than 0.0001: row 0: expected 0.212640, served 0.230804; row 1:/);
        return true;
      });
    } finally {
      await model.scorer?.close();
    }
  });
});
