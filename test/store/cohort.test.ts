import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CohortReader } from '../../src/store/cohort.js';
import { openDatabase } from '../../src/store/database.js';
import { tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());

describe('CohortReader', () => {
  it('counts the matured predictions of a model version in the range and reads the labelled ones', () => {
    const db = openDatabase({ path: join(tmp.dir, 'c.db'), synchronous: 'NORMAL' });
    const prediction = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
      VALUES (?, 'r', 0, ?, '1', '{}', ?, 0, 'low', 0.5, 1, 't', ?)`);
    const label = db.prepare(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES (?, ?, 0, 0, ?, '1', ?, ?)`);
    for (let i = 0; i < 3000; i++) {
      prediction.run(`p${i}`, 'm', i / 3000, i);
      if (i % 3 === 0) label.run(`p${i}`, i % 2, 'm', i, i / 3000);
    }
    prediction.run('other', 'x', 0.5, 10);
    label.run('other', 1, 'x', 10, 0.5);
    const c = new CohortReader(db).read('m', '1', 1000, 2000);
    assert.equal(c.matured, 1000);
    assert.equal(c.labels.length, 333); // 1002, 1005, ..., 1998
    assert.equal(c.probabilities[0], 1002 / 3000);
    assert.equal(c.labels[0], 0);
    assert.equal(c.labels[1], 1);
    db.close();
  });
});
