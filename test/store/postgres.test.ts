import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migratePostgres, monthOf, openPostgres, redactUrl, urlWithPassword } from '../../src/store/postgres.js';
import { tempDir } from '../helpers/app.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;

describe('openPostgres', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.close());

  it('migrates once when several replicas start together, recording the version in vigia_schema', async () => {
    const url = await cluster.createDatabase(`m${n++}`);
    const pools = await Promise.all(Array.from({ length: 4 }, () => openPostgres({ url, poolSize: 1 })));
    const version = (await pools[0]!.query('SELECT version FROM vigia_schema')).rows;
    assert.deepEqual(version, [{ version: MIGRATIONS.length }]);
    const tables = (await pools[0]!.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'predictions_%' AND tablename NOT LIKE 'labels_%' AND tablename NOT LIKE 'audit_links_%' ORDER BY 1")).rows.map((r: { tablename: string }) => r.tablename);
    assert.deepEqual(tables, ['audit_archive_checkpoint', 'audit_links', 'audit_writer_checkpoints', 'audit_writers', 'cloudevents', 'cohort_buckets', 'cohort_cursors', 'evaluations', 'fleet_reports', 'labels', 'leader_terms', 'observed_ids', 'predictions', 'vigia_schema', 'window_buckets', 'window_cursors']);
    await Promise.all(pools.map((p) => p.end()));
  });

  it('partitions predictions by month of event time, creating this month and the next two ahead', async () => {
    const url = await cluster.createDatabase(`m${n++}`);
    const pool = await openPostgres({ url, poolSize: 1 });
    const parts = (await pool.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'predictions'::regclass ORDER BY 1")).rows.map((r: { relname: string }) => r.relname);
    const now = Date.now();
    const m1 = monthOf(now);
    const m2 = monthOf(m1.toMs);
    assert.deepEqual(parts, [m1.name, m2.name, monthOf(m2.toMs).name]);
    const labelParts = (await pool.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'labels'::regclass ORDER BY 1")).rows.map((r: { relname: string }) => r.relname);
    assert.deepEqual(labelParts, [m1.labels, m2.labels, monthOf(m2.toMs).labels], 'the labels by the same months, so retention drops both');
    await pool.end();
  });

  it('moves the labels of a database migrated from before retention into monthly partitions, keeping every label', async () => {
    const url = await cluster.createDatabase(`m${n++}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    // Up to the step before the one that partitions the labels (later steps were appended after it).
    await migratePostgres(client, MIGRATIONS.findIndex((step) => step.postgres?.includes('labels_unpartitioned') === true));
    const jan = monthOf(Date.UTC(2024, 0, 5));
    await client.query(`CREATE TABLE ${jan.name} PARTITION OF predictions FOR VALUES FROM (${jan.fromMs}) TO (${jan.toMs})`);
    await client.query(`INSERT INTO predictions (id, request_id, ts_ms, event_ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id)
      VALUES ('p1', 'r', 1, ${jan.fromMs + 5}, 'm', '1', '{}', 0.5, 1, 'low', 0.5, 1, 't')`);
    await client.query(`INSERT INTO labels VALUES ('p1', 1, 10, 11, 'm', '1', ${jan.fromMs + 5}, 0.5)`);
    await migratePostgres(client);
    assert.deepEqual((await client.query(`SELECT prediction_id, label, label_ts_ms, received_ts_ms, event_ts_ms FROM ${jan.labels}`)).rows,
      [{ prediction_id: 'p1', label: 1, label_ts_ms: '10', received_ts_ms: '11', event_ts_ms: String(jan.fromMs + 5) }]);
    const again = await client.query(`INSERT INTO labels VALUES ('p1', 0, 10, 12, 'm', '1', ${jan.fromMs + 5}, 0.5) ON CONFLICT (prediction_id, event_ts_ms) DO NOTHING`);
    assert.equal(again.rowCount, 0, 'a second label for the prediction is still refused');
    await client.end();
  });

  it('refuses a database whose schema is newer than this version knows, naming the URL without its password', async () => {
    const url = (await cluster.createDatabase(`m${n++}`)).replace('postgres@', 'postgres:hunter2@');
    const pool = await openPostgres({ url, poolSize: 1 });
    await pool.query('UPDATE vigia_schema SET version = 99');
    await pool.end();
    await assert.rejects(openPostgres({ url, poolSize: 1 }), (err: Error) => {
      assert.match(err.message, new RegExp(`cannot open the database postgres://postgres:\\*\\*\\*@127.0.0.1:${cluster.port}/m\\d+ \\(VIGIA_DB\\): schema version 99 is newer than this Vigia knows \\(${MIGRATIONS.length}\\)`));
      assert.ok(!err.message.includes('hunter2'));
      return true;
    });
  });

  it('says which database it cannot reach', async () => {
    await assert.rejects(openPostgres({ url: 'postgres://u:pw@127.0.0.1:1/vigia', poolSize: 1 }), /cannot open the database postgres:\/\/u:\*\*\*@127.0.0.1:1\/vigia \(VIGIA_DB\): connect ECONNREFUSED/);
    assert.equal(redactUrl('postgres://u@h/d'), 'postgres://u@h/d');
  });
});

describe('monthOf', () => {
  it('gives the UTC month of an instant as a partition range and name', () => {
    assert.deepEqual(monthOf(Date.UTC(2026, 11, 31, 23, 59)), { fromMs: Date.UTC(2026, 11, 1), toMs: Date.UTC(2027, 0, 1), name: 'predictions_202612', labels: 'labels_202612', links: 'audit_links_202612' });
  });
});

describe('urlWithPassword', () => {
  it('puts the password of VIGIA_DB_PASSWORD_FILE into a URL that names none, and leaves one that does alone', () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'password');
    writeFileSync(file, 'p@ss word\n');
    assert.equal(urlWithPassword('postgres://vigia@db:5432/vigia', file), 'postgres://vigia:p%40ss%20word@db:5432/vigia');
    assert.equal(urlWithPassword('postgres://vigia:given@db/vigia', file), 'postgres://vigia:given@db/vigia');
    assert.equal(urlWithPassword('postgres://vigia@db/vigia', undefined), 'postgres://vigia@db/vigia');
    assert.throws(() => urlWithPassword('postgres://vigia@db/vigia', join(tmp.dir, 'nope')), /cannot read the PostgreSQL password file .*nope \(VIGIA_DB_PASSWORD_FILE\): ENOENT/);
    tmp.remove();
  });
});
