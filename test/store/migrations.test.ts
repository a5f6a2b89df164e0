import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());

describe('migrations', () => {
  it('gives the rows of a version-2 audit log their decision time as event time, indexed for the window', () => {
    const db = new Database(join(tmp.dir, 'v2.db'));
    migrate(db, 2);
    db.exec(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id)
             VALUES ('a', 'r', 1234, 'm', '1', '{}', 0.5, 1, 'b', 0.2, 1, 't')`);
    migrate(db);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.prepare("SELECT event_ts_ms FROM predictions WHERE id = 'a'").pluck().get(), 1234);
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'predictions'").all() as { name: string }[]).map((i) => i.name);
    assert.ok(indexes.includes('predictions_model_event_time'));
    assert.ok(!indexes.includes('predictions_model_time'), 'the decision-time index is dropped: nothing reads by it');
    db.close();
  });

  it('gives the labels of a version-3 audit log their prediction\'s model, version, event time and probability', () => {
    const db = new Database(join(tmp.dir, 'v3.db'));
    migrate(db, 3);
    db.exec(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
             VALUES ('a', 'r', 1234, 'm', '1', '{}', 0.75, 1, 'b', 0.2, 1, 't', 1000)`);
    db.exec(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms) VALUES ('a', 1, 5000, 6000)`);
    migrate(db);
    assert.deepEqual(db.prepare("SELECT model, model_version, event_ts_ms, probability FROM labels WHERE prediction_id = 'a'").get(), { model: 'm', model_version: '1', event_ts_ms: 1000, probability: 0.75 });
    db.close();
  });

  it('marks the predictions of an older audit log as scored by Vigia, and adds the table of waiting CloudEvent halves', () => {
    const db = new Database(join(tmp.dir, 'v4.db'));
    migrate(db, 4);
    db.exec(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
             VALUES ('a', 'r', 1234, 'm', '1', '{}', 0.75, 1, 'b', 0.2, 1, 't', 1000)`);
    migrate(db);
    assert.equal(db.prepare("SELECT reasons FROM predictions WHERE id = 'a'").pluck().get(), null, 'no reasons on rows logged before the reasons column');
    assert.equal(db.prepare("SELECT source FROM predictions WHERE id = 'a'").pluck().get(), 'scored');
    assert.deepEqual((db.prepare('PRAGMA table_info(cloudevents)').all() as { name: string }[]).map((c) => c.name), ['model', 'ce_id', 'request', 'response', 'first_ms', 'paired_ms', 'expired_ms', 'problem']);
    db.close();
  });

  it('numbers the labels of an older audit log in their insertion order, and never hands a deleted number out again', () => {
    const db = new Database(join(tmp.dir, 'v10.db'));
    // Up to the SQLite step before the one that numbers the labels (found by its text: steps are appended after it).
    migrate(db, MIGRATIONS.filter((step) => step.sqlite !== null).findIndex((step) => step.sqlite!.includes('labels_with_seq')));
    for (const id of ['a', 'b', 'c']) {
      db.exec(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
               VALUES ('${id}', 'r', 1234, 'm', '1', '{}', 0.75, 1, 'b', 0.2, 1, 't', 1000)`);
    }
    db.exec(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES ('b', 1, 5, 6, 'm', '1', 1000, 0.75), ('a', 0, 5, 6, 'm', '1', 1000, 0.75)`);
    migrate(db);
    assert.deepEqual(db.prepare('SELECT seq, prediction_id, label FROM labels ORDER BY seq').raw().all(), [[1, 'b', 1], [2, 'a', 0]]);
    db.exec("DELETE FROM labels WHERE prediction_id = 'a'");
    db.exec(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES ('c', 1, 5, 6, 'm', '1', 1000, 0.75)`);
    assert.equal(db.prepare("SELECT seq FROM labels WHERE prediction_id = 'c'").pluck().get(), 3);
    assert.throws(() => db.exec(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms) VALUES ('b', 0, 5, 6)`), /UNIQUE constraint failed: labels.prediction_id/);
    assert.deepEqual((db.prepare('PRAGMA table_info(cohort_cursors)').all() as { name: string }[]).map((c) => c.name), ['model', 'model_version', 'layout', 'through_prediction_seq', 'through_label_seq']);
    db.close();
  });
});
