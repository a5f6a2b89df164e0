import type Database from 'better-sqlite3';

/**
 * One schema change, in each engine's SQL. `null`: nothing to do on that engine (PostgreSQL
 * shipped after steps 1–4, so its first steps already have their final shape; the fleet's
 * tables, the monthly labels partitions and the per-writer chain exist only on PostgreSQL, SQLite's
 * single chain only on SQLite; the hourly window aggregates have a step per engine).
 */
export interface MigrationStep {
  readonly sqlite: string | null;
  readonly postgres: string | null;
}

/**
 * The schema of both engines, in one list of steps applied in order. SQLite records how many
 * ran in `PRAGMA user_version`, PostgreSQL in the `vigia_schema` table
 * (src/store/postgres-schema.ts). Append new steps (with both texts); never edit a step that
 * has shipped.
 */
export const MIGRATIONS: readonly MigrationStep[] = [
  { sqlite: `CREATE TABLE predictions (
     seq           INTEGER PRIMARY KEY,
     id            TEXT NOT NULL UNIQUE,   -- prediction_id, answered to the client
     request_id    TEXT NOT NULL,          -- one per HTTP request (a batch shares it)
     ts_ms         INTEGER NOT NULL,       -- when the decision was made (server clock, ms since epoch)
     model         TEXT NOT NULL,
     model_version TEXT NOT NULL,
     features      TEXT NOT NULL,          -- the input as validated, JSON
     probability   REAL NOT NULL,
     decision      INTEGER NOT NULL,
     band          TEXT NOT NULL,
     threshold     REAL NOT NULL,
     latency_ms    REAL NOT NULL,          -- request received → decision made
     trace_id      TEXT NOT NULL
   ) STRICT;
   CREATE INDEX predictions_model_time ON predictions (model, model_version, ts_ms);`,
    // Partitioned by event time (a range of ms per month, created ahead by the audit log), so
    // retention drops a month with DROP TABLE instead of a slow DELETE; the primary key has to
    // carry the partition key. `tx`, the inserting transaction's id, lets a reader take rows
    // in commit-safe order (src/store/pg-window.ts): a sequence is not commit order here.
    postgres: `CREATE TABLE predictions (
     id            text NOT NULL,
     request_id    text NOT NULL,
     ts_ms         bigint NOT NULL,
     event_ts_ms   bigint NOT NULL,
     model         text NOT NULL,
     model_version text NOT NULL,
     features      text NOT NULL,
     probability   double precision NOT NULL,
     decision      smallint NOT NULL,
     band          text NOT NULL,
     threshold     double precision NOT NULL,
     latency_ms    double precision NOT NULL,
     trace_id      text NOT NULL,
     tx            xid8 NOT NULL DEFAULT pg_current_xact_id(),
     PRIMARY KEY (id, event_ts_ms)
   ) PARTITION BY RANGE (event_ts_ms);
   CREATE INDEX predictions_id ON predictions (id);
   CREATE INDEX predictions_model_event_time ON predictions (model, model_version, event_ts_ms);
   CREATE INDEX predictions_model_tx ON predictions (model, model_version, tx);` },
  { sqlite: `CREATE TABLE labels (
     prediction_id  TEXT PRIMARY KEY,      -- predictions.id
     label          INTEGER NOT NULL CHECK (label IN (0, 1)),
     label_ts_ms    INTEGER NOT NULL,      -- when the outcome became known (client-given, default: received)
     received_ts_ms INTEGER NOT NULL       -- when Vigia stored it
   ) STRICT;`,
    postgres: `CREATE TABLE labels (
     prediction_id  text PRIMARY KEY,
     label          smallint NOT NULL CHECK (label IN (0, 1)),
     label_ts_ms    bigint NOT NULL,
     received_ts_ms bigint NOT NULL,
     model          text NOT NULL,
     model_version  text NOT NULL,
     event_ts_ms    bigint NOT NULL,
     probability    double precision NOT NULL
   );
   CREATE INDEX labels_model_event_time ON labels (model, model_version, event_ts_ms);` },
  // The event time: a replay or backfill gives it (VIGIA_ACCEPT_EVENT_TIME), otherwise it is
  // the decision time. ts_ms stays the server's clock. The window and the cohort read by it.
  { sqlite: `ALTER TABLE predictions ADD COLUMN event_ts_ms INTEGER NOT NULL DEFAULT 0;
   UPDATE predictions SET event_ts_ms = ts_ms;
   DROP INDEX predictions_model_time;
   CREATE INDEX predictions_model_event_time ON predictions (model, model_version, event_ts_ms);`, postgres: null },
  // A label carries its prediction's model, version, event time and probability, so the
  // matured cohort's metrics read the labels alone, by index, without a join.
  { sqlite: `ALTER TABLE labels ADD COLUMN model TEXT NOT NULL DEFAULT '';
   ALTER TABLE labels ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
   ALTER TABLE labels ADD COLUMN event_ts_ms INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE labels ADD COLUMN probability REAL NOT NULL DEFAULT 0;
   UPDATE labels SET (model, model_version, event_ts_ms, probability) =
     (SELECT p.model, p.model_version, p.event_ts_ms, p.probability FROM predictions p WHERE p.id = labels.prediction_id);
   CREATE INDEX labels_model_event_time ON labels (model, model_version, event_ts_ms);`, postgres: null },
  // Predictions made elsewhere (the ingest API, KServe's payload logger) are marked
  // 'observed'; Vigia's own are 'scored'. The CloudEvents of KServe's logger come in halves
  // (request, response) that are committed as they arrive and paired here by ce-id, so a
  // half acknowledged before its partner survives a restart; paired halves keep only their
  // times, unpaired ones expire (expired_ms) but are kept, and a late partner still pairs.
  { sqlite: `ALTER TABLE predictions ADD COLUMN source TEXT NOT NULL DEFAULT 'scored';
   CREATE TABLE cloudevents (
     model       TEXT NOT NULL,
     ce_id       TEXT NOT NULL,
     request     TEXT,                  -- the request half mapped to feature objects, JSON; NULL once paired
     response    TEXT,                  -- the response half mapped to scores, JSON; NULL once paired
     first_ms    INTEGER NOT NULL,      -- when the first half arrived (the observations' event time)
     paired_ms   INTEGER,               -- when the second half arrived and the rows were logged
     expired_ms  INTEGER,               -- when the half was counted unpaired (VIGIA_INGEST_PAIR_TIMEOUT)
     problem     TEXT,                  -- why a complete pair logged no rows (row counts differ)
     PRIMARY KEY (model, ce_id)
   ) STRICT;
   CREATE INDEX cloudevents_waiting ON cloudevents (first_ms) WHERE paired_ms IS NULL AND expired_ms IS NULL;`,
    postgres: `ALTER TABLE predictions ADD COLUMN source text NOT NULL DEFAULT 'scored';
   CREATE TABLE cloudevents (
     model       text NOT NULL,
     ce_id       text NOT NULL,
     request     text,
     response    text,
     first_ms    bigint NOT NULL,
     paired_ms   bigint,
     expired_ms  bigint,
     problem     text,
     PRIMARY KEY (model, ce_id)
   );
   CREATE INDEX cloudevents_waiting ON cloudevents (first_ms) WHERE paired_ms IS NULL AND expired_ms IS NULL;` },
  // Governance: the groups of each prediction for fairness (JSON, attribute → group), the
  // attributes the caller sent only for monitoring (JSON or NULL), the content hash of the
  // bundle that decided (lineage), and the hash chain: each row's SHA-256 over its canonical
  // bytes, and one link per committed group covering its rows and the previous link.
  { sqlite: `ALTER TABLE predictions ADD COLUMN groups TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE predictions ADD COLUMN monitoring TEXT;
   ALTER TABLE predictions ADD COLUMN bundle_hash TEXT NOT NULL DEFAULT '';
   ALTER TABLE predictions ADD COLUMN row_hash BLOB;
   CREATE TABLE audit_chain (
     link         INTEGER PRIMARY KEY,
     first_seq    INTEGER NOT NULL,     -- predictions.seq of the first row the link covers
     last_seq     INTEGER NOT NULL,
     rows         INTEGER NOT NULL,
     prev_hash    TEXT NOT NULL,        -- the previous link's hash (hex), or the checkpoint's
     hash         TEXT NOT NULL,        -- SHA-256 (hex) of prev_hash and the rows' hashes
     committed_ms INTEGER NOT NULL
   ) STRICT;
   -- Where the chain resumes once retention archived and removed its oldest links.
   CREATE TABLE audit_checkpoint (
     id          INTEGER PRIMARY KEY CHECK (id = 1),
     link        INTEGER NOT NULL,     -- the last archived link
     hash        TEXT NOT NULL,        -- its hash: the next link's prev_hash
     pruned_rows INTEGER NOT NULL
   ) STRICT;
   -- One row the writer rewrites to learn whether the disk takes writes again after a failure.
   CREATE TABLE audit_probe (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL) STRICT;`,
    // PostgreSQL: the columns, so a row written there carries its groups, monitoring
    // attributes and bundle hash. The hash chain (row_hash, audit_chain, audit_checkpoint) and
    // the disk probe are SQLite's: the chain is computed in the SQLite writer thread
    // (src/store/audit-writer-worker.ts); PostgreSQL's per-writer chains come in a later step.
    postgres: `ALTER TABLE predictions ADD COLUMN groups text NOT NULL DEFAULT '{}';
   ALTER TABLE predictions ADD COLUMN monitoring text;
   ALTER TABLE predictions ADD COLUMN bundle_hash text NOT NULL DEFAULT '';` },
  // The window as hourly aggregates (src/store/window-buckets.ts), derived from the
  // predictions and rebuilt from them when missing: a bucket's counts as float64 bytes, and
  // per model version and layout the last seq folded in, written in the same transaction.
  { sqlite: `CREATE TABLE window_buckets (
     model           TEXT NOT NULL,
     model_version   TEXT NOT NULL,
     layout          TEXT NOT NULL,     -- the aggregate layout's hash (bins and KS cells of the baseline)
     bucket_start_ms INTEGER NOT NULL,  -- event time, a multiple of the bucket length
     rows            INTEGER NOT NULL,
     data            BLOB NOT NULL,     -- Float64Array of the layout's entries, little-endian
     PRIMARY KEY (model, model_version, layout, bucket_start_ms)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE window_cursors (
     model         TEXT NOT NULL,
     model_version TEXT NOT NULL,
     layout        TEXT NOT NULL,
     through_seq   INTEGER NOT NULL,    -- every predictions row with seq <= this is in the buckets
     PRIMARY KEY (model, model_version, layout)
   ) STRICT, WITHOUT ROWID;`,
    // PostgreSQL: a later step (its cursor is a transaction id, see the last steps).
    postgres: null },
  // The principal reasons answered with a decision (JSON array of {code, reason, contribution}),
  // NULL when it had none (decision 0 without "explain", or a model that cannot be explained).
  { sqlite: `ALTER TABLE predictions ADD COLUMN reasons TEXT;`,
    postgres: `ALTER TABLE predictions ADD COLUMN reasons text;` },
  // The fleet (PostgreSQL only): each leadership term of the evaluator, each evaluation it
  // published (the record that shows one evaluator at a time), and the reports every
  // replica serves.
  { sqlite: null,
    postgres: `CREATE TABLE leader_terms (
     term        bigserial PRIMARY KEY,    -- the fencing token: rises with each new leader
     replica     text NOT NULL,
     acquired_at timestamptz NOT NULL DEFAULT clock_timestamp()
   );
   CREATE TABLE evaluations (
     term        bigint NOT NULL REFERENCES leader_terms (term),
     replica     text NOT NULL,
     model       text NOT NULL,
     model_version text NOT NULL,
     started_ms  bigint NOT NULL,
     finished_ms bigint NOT NULL,
     published_at timestamptz NOT NULL DEFAULT clock_timestamp()
   );
   CREATE INDEX evaluations_started ON evaluations (started_ms);
   CREATE TABLE fleet_reports (
     model         text NOT NULL,
     model_version text NOT NULL,
     term          bigint NOT NULL,
     replica       text NOT NULL,
     seconds       double precision NOT NULL,
     report        json NOT NULL,          -- json, not jsonb: kept byte for byte, so every replica serves the same text
     published_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (model, model_version)
   );` },
  // Shadow scoring (issue 11): a candidate version scores a copy of a request after the
  // answer; its row names the answered prediction it copies and was never returned.
  { sqlite: `ALTER TABLE predictions ADD COLUMN shadow_of TEXT;`,
    postgres: `ALTER TABLE predictions ADD COLUMN shadow_of text;` },
  // A bounded sample of each hourly bucket's rows (src/drift/bucket-sample.ts), so that
  // attribution drift has rows to explain on a window evaluated from its aggregates. NULL in
  // the buckets stored before this step: the window is folded again from the audit log once.
  // PostgreSQL: nothing yet (no hourly aggregates there in this step).
  { sqlite: `ALTER TABLE window_buckets ADD COLUMN sample BLOB;`,
    postgres: null },
  // The window as hourly aggregates on PostgreSQL (src/store/pg-window-buckets.ts), written by
  // the fleet's elected evaluator and rebuilt from the predictions when missing. The cursor is
  // a transaction id, not a sequence: every predictions row whose inserting transaction (tx)
  // is below through_tx is in the buckets, written in the same transaction as them. One
  // cursor per model version; `term` is the leader term that wrote it. SQLite has had its
  // own tables since the step above that created them.
  { sqlite: null,
    postgres: `CREATE TABLE window_buckets (
     model           text NOT NULL,
     model_version   text NOT NULL,
     layout          text NOT NULL,     -- the aggregate layout's hash (bins and KS cells of the baseline)
     bucket_start_ms bigint NOT NULL,   -- event time, a multiple of the bucket length
     rows            bigint NOT NULL,
     data            bytea NOT NULL,    -- Float64Array of the layout's entries, little-endian
     PRIMARY KEY (model, model_version, layout, bucket_start_ms)
   );
   CREATE TABLE window_cursors (
     model         text NOT NULL,
     model_version text NOT NULL,
     layout        text NOT NULL,
     through_tx    xid8 NOT NULL,       -- every predictions row with tx < this is in the buckets
     term          bigint,              -- the leader term that wrote them (NULL outside a fleet)
     PRIMARY KEY (model, model_version)
   );` },
  // Retention on PostgreSQL (src/store/pg-retention.ts): the labels are partitioned by month of
  // their prediction's event time like the predictions (labels_YYYYMM beside predictions_YYYYMM,
  // same bounds), so a month's labels leave with its predictions by DROP TABLE, never by a
  // DELETE. The primary key has to carry the partition key; a label's event time is its
  // prediction's, so (prediction_id, event_ts_ms) is as unique as prediction_id was. Existing
  // labels move into partitions made for every existing predictions partition. The archive
  // checkpoint: where the chain of the retention archives' links ends (the next archive's
  // first link follows it).
  { sqlite: null,
    postgres: `ALTER TABLE labels RENAME TO labels_unpartitioned;
   ALTER INDEX labels_model_event_time RENAME TO labels_unpartitioned_model_event_time;
   CREATE TABLE labels (
     prediction_id  text NOT NULL,
     label          smallint NOT NULL CHECK (label IN (0, 1)),
     label_ts_ms    bigint NOT NULL,
     received_ts_ms bigint NOT NULL,
     model          text NOT NULL,
     model_version  text NOT NULL,
     event_ts_ms    bigint NOT NULL,
     probability    double precision NOT NULL,
     PRIMARY KEY (prediction_id, event_ts_ms)
   ) PARTITION BY RANGE (event_ts_ms);
   CREATE INDEX labels_model_event_time ON labels (model, model_version, event_ts_ms);
   DO $$
   DECLARE r record;
   BEGIN
     FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'predictions'::regclass LOOP
       EXECUTE format('CREATE TABLE %I PARTITION OF labels %s', 'labels_' || substr(r.relname, length('predictions_') + 1), r.bound);
     END LOOP;
   END $$;
   INSERT INTO labels SELECT prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability FROM labels_unpartitioned;
   DROP TABLE labels_unpartitioned;
   CREATE TABLE audit_archive_checkpoint (
     id            integer PRIMARY KEY CHECK (id = 1),
     link          bigint NOT NULL,     -- the last archived link
     hash          text NOT NULL,       -- its hash: the next archive's first prev_hash
     archived_rows bigint NOT NULL      -- rows archived so far: the next archive numbers its rows from here
   );` },
  // The ids of predictions made elsewhere (observations, KServe CloudEvent pairs) on
  // PostgreSQL (src/store/pg-observations.ts). `predictions` is partitioned by event time, so
  // its key is (id, event_ts_ms) and nothing there stops a retry — whose event time may
  // differ — from logging an id twice. This table, not partitioned, is where replicas meet:
  // an observation is logged only by the transaction whose INSERT here took its id, and a
  // retry finds the first try's values. Retention deletes a month's ids when it drops the
  // month. SQLite's `predictions.id` is unique by itself.
  { sqlite: null,
    postgres: `CREATE TABLE observed_ids (
     id            text PRIMARY KEY,    -- predictions.id of the observation
     model         text NOT NULL,
     event_ts_ms   bigint NOT NULL,     -- its partition: retention deletes the ids of the months it drops
     probability   double precision NOT NULL,
     decision      smallint NOT NULL,
     band          text NOT NULL
   );
   CREATE INDEX observed_ids_event_time ON observed_ids (event_ts_ms);` },
  // The hash chain on PostgreSQL (src/store/pg-audit-log.ts, docs/governance.md): one chain per
  // writer — a lane of one replica's audit log, for one process life — registered in
  // audit_writers (itself chained, entry n following entry n - 1), each extended in its own
  // commit order inside the transaction that commits its rows, so no fleet-wide lock is taken
  // on a head. A row records its writer, its place in the writer's chain (seq) and its hash
  // over the same canonical bytes as on SQLite; a link never spans two months, and the links
  // are partitioned by month like the rows, so retention archives and drops them together.
  // audit_writer_checkpoints: each writer's last archived link. Rows written before this step
  // have no writer (counted as not covered). Writer ids compare bytewise (COLLATE "C"), so
  // retention's cursors over rows and links, both in writer order, meet in the same order
  // as JavaScript compares them, by index.
  { sqlite: null,
    postgres: `ALTER TABLE predictions ADD COLUMN writer text COLLATE "C";
   ALTER TABLE predictions ADD COLUMN seq bigint;
   ALTER TABLE predictions ADD COLUMN row_hash bytea;
   CREATE INDEX predictions_writer_seq ON predictions (writer, seq);
   CREATE TABLE audit_writers (
     n          bigint PRIMARY KEY,     -- 1, 2, … in registration order
     writer     text COLLATE "C" NOT NULL UNIQUE,
     replica    text NOT NULL,
     lane       integer NOT NULL,       -- which of the replica's concurrent commit lanes
     started_ms bigint NOT NULL,
     prev_hash  text NOT NULL,          -- entry n - 1's hash (the genesis hash for n = 1)
     hash       text NOT NULL           -- writerEntryHash: the writer's first link follows it
   );
   CREATE TABLE audit_links (
     writer       text COLLATE "C" NOT NULL,
     link         bigint NOT NULL,      -- 1, 2, … within the writer
     first_seq    bigint NOT NULL,      -- predictions.seq of the first row the link covers (within the writer)
     last_seq     bigint NOT NULL,
     rows         integer NOT NULL,
     prev_hash    text NOT NULL,
     hash         text NOT NULL,
     committed_ms bigint NOT NULL,
     month_ms     bigint NOT NULL,      -- the month of its rows' event times (a link lies in one month)
     PRIMARY KEY (writer, link, month_ms)
   ) PARTITION BY RANGE (month_ms);
   CREATE TABLE audit_writer_checkpoints (
     writer text COLLATE "C" PRIMARY KEY,
     link   bigint NOT NULL,            -- the writer's last archived link
     hash   text NOT NULL
   );
   DO $$
   DECLARE r record;
   BEGIN
     FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'predictions'::regclass LOOP
       EXECUTE format('CREATE TABLE %I PARTITION OF audit_links %s', 'audit_links_' || substr(r.relname, length('predictions_') + 1), r.bound);
     END LOOP;
   END $$;` },
  // The matured cohort as hourly aggregates (src/store/cohort-buckets.ts, pg-cohort-buckets.ts):
  // per model version and hour of event time, the predictions counted and the labels'
  // aggregate (src/performance/cohort-aggregate.ts; NULL before the hour's first label),
  // derived from the audit log and rebuilt from it when missing. Labels are folded in commit
  // order, so they get a cursor of their own. SQLite: `seq`, AUTOINCREMENT so that a number
  // is never reused (a plain rowid is, once retention deletes the newest label); the table is
  // rebuilt to have it, the old rowids kept as seq. PostgreSQL: `tx`, the inserting
  // transaction's id, as on the predictions (a sequence is not commit order there); the labels
  // already stored take the id of this migration's transaction.
  { sqlite: `CREATE TABLE labels_with_seq (
     seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order of the labels (never reused)
     prediction_id  TEXT NOT NULL UNIQUE,  -- predictions.id
     label          INTEGER NOT NULL CHECK (label IN (0, 1)),
     label_ts_ms    INTEGER NOT NULL,
     received_ts_ms INTEGER NOT NULL,
     model          TEXT NOT NULL DEFAULT '',
     model_version  TEXT NOT NULL DEFAULT '',
     event_ts_ms    INTEGER NOT NULL DEFAULT 0,
     probability    REAL NOT NULL DEFAULT 0
   ) STRICT;
   INSERT INTO labels_with_seq (seq, prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability)
     SELECT rowid, prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability FROM labels ORDER BY rowid;
   DROP TABLE labels;
   ALTER TABLE labels_with_seq RENAME TO labels;
   CREATE INDEX labels_model_event_time ON labels (model, model_version, event_ts_ms);
   CREATE TABLE cohort_buckets (
     model           TEXT NOT NULL,
     model_version   TEXT NOT NULL,
     bucket_start_ms INTEGER NOT NULL,  -- event time, a multiple of the hour
     matured         INTEGER NOT NULL,  -- predictions of the hour
     labelled        INTEGER NOT NULL,  -- labels of the hour's predictions
     data            BLOB,              -- Float64Array of the labels' aggregate, little-endian; NULL without labels
     PRIMARY KEY (model, model_version, bucket_start_ms)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE cohort_cursors (
     model                 TEXT NOT NULL,
     model_version         TEXT NOT NULL,
     layout                TEXT NOT NULL,     -- the aggregate layout (threshold, bins)
     through_prediction_seq INTEGER NOT NULL, -- every predictions row with seq <= this is counted
     through_label_seq     INTEGER NOT NULL,  -- every labels row with seq <= this is folded
     PRIMARY KEY (model, model_version)
   ) STRICT, WITHOUT ROWID;`,
    postgres: `ALTER TABLE labels ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
   CREATE INDEX labels_model_tx ON labels (model, model_version, tx);
   CREATE TABLE cohort_buckets (
     model           text NOT NULL,
     model_version   text NOT NULL,
     bucket_start_ms bigint NOT NULL,
     matured         bigint NOT NULL,
     labelled        bigint NOT NULL,
     data            bytea,
     PRIMARY KEY (model, model_version, bucket_start_ms)
   );
   CREATE TABLE cohort_cursors (
     model         text NOT NULL,
     model_version text NOT NULL,
     layout        text NOT NULL,
     through_tx    xid8 NOT NULL,       -- every predictions and labels row with tx < this is in the buckets
     term          bigint,              -- the leader term that wrote them (NULL outside a fleet)
     PRIMARY KEY (model, model_version)
   );` },
  // Each hourly bucket's predictions by groups and decision (JSON of [groups, decision, count]),
  // so that fairness by group over a window evaluated from its aggregates reads the buckets,
  // not a GROUP BY over every row of the window at each evaluation. NULL in the buckets
  // stored before this step: the window is folded again from the audit log once.
  { sqlite: `ALTER TABLE window_buckets ADD COLUMN group_counts TEXT;`,
    postgres: null },
  // PostgreSQL's hourly buckets count groups too (the same JSON): a fleet's evaluator reads
  // fairness from them rather than a GROUP BY over the window in the database server.
  { sqlite: null,
    postgres: `ALTER TABLE window_buckets ADD COLUMN group_counts text;` },
  // Each hour of the matured cohort counts its labels by their predictions' groups and
  // decision and by label (JSON of [groups, decision, label, count]): fairness's TPR and FPR
  // over a cohort evaluated from its aggregates read them, not a GROUP BY joining every label
  // of the cohort to its prediction at each evaluation. NULL in the hours stored before this
  // step: the cohort is folded again from the audit log once.
  { sqlite: `ALTER TABLE cohort_buckets ADD COLUMN group_counts TEXT;`,
    postgres: `ALTER TABLE cohort_buckets ADD COLUMN group_counts text;` },
];

/** How many steps the SQLite schema has (steps with SQLite text, counted in `user_version`). */
const SQLITE_STEPS = MIGRATIONS.filter((s) => s.sqlite !== null);

/** The schema version a fully migrated SQLite database records (`PRAGMA user_version`). */
export const SCHEMA_VERSION = SQLITE_STEPS.length;

/** Applies the steps not yet run, up to `target` (all of them; tests stop earlier to build old databases). */
export function migrate(db: Database.Database, target = SQLITE_STEPS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_STEPS.length) {
    throw new Error(`schema version ${current} is newer than this Vigia knows (${SQLITE_STEPS.length})`);
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(SQLITE_STEPS[v]!.sqlite!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
