import type Database from 'better-sqlite3';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Append new steps; never edit a step that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE predictions (
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
  `CREATE TABLE labels (
     prediction_id  TEXT PRIMARY KEY,      -- predictions.id
     label          INTEGER NOT NULL CHECK (label IN (0, 1)),
     label_ts_ms    INTEGER NOT NULL,      -- when the outcome became known (client-given, default: received)
     received_ts_ms INTEGER NOT NULL       -- when Vigia stored it
   ) STRICT;`,
  // The event time: a replay or backfill gives it (VIGIA_ACCEPT_EVENT_TIME), otherwise it is
  // the decision time. ts_ms stays the server's clock. The window and the cohort read by it.
  `ALTER TABLE predictions ADD COLUMN event_ts_ms INTEGER NOT NULL DEFAULT 0;
   UPDATE predictions SET event_ts_ms = ts_ms;
   DROP INDEX predictions_model_time;
   CREATE INDEX predictions_model_event_time ON predictions (model, model_version, event_ts_ms);`,
  // A label carries its prediction's model, version, event time and probability, so the
  // matured cohort's metrics read the labels alone, by index, without a join.
  `ALTER TABLE labels ADD COLUMN model TEXT NOT NULL DEFAULT '';
   ALTER TABLE labels ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
   ALTER TABLE labels ADD COLUMN event_ts_ms INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE labels ADD COLUMN probability REAL NOT NULL DEFAULT 0;
   UPDATE labels SET (model, model_version, event_ts_ms, probability) =
     (SELECT p.model, p.model_version, p.event_ts_ms, p.probability FROM predictions p WHERE p.id = labels.prediction_id);
   CREATE INDEX labels_model_event_time ON labels (model, model_version, event_ts_ms);`,
  // Predictions made elsewhere (the ingest API, KServe's payload logger) are marked
  // 'observed'; Vigia's own are 'scored'. The CloudEvents of KServe's logger come in halves
  // (request, response) that are committed as they arrive and paired here by ce-id, so a
  // half acknowledged before its partner survives a restart; paired halves keep only their
  // times, unpaired ones expire (expired_ms) but are kept, and a late partner still pairs.
  `ALTER TABLE predictions ADD COLUMN source TEXT NOT NULL DEFAULT 'scored';
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
  // Governance: the groups of each prediction for fairness (JSON, attribute → group), the
  // attributes the caller sent only for monitoring (JSON or NULL), the content hash of the
  // bundle that decided (lineage), and the hash chain: each row's SHA-256 over its canonical
  // bytes, and one link per committed group covering its rows and the previous link.
  `ALTER TABLE predictions ADD COLUMN groups TEXT NOT NULL DEFAULT '{}';
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
  // The window as hourly aggregates (src/store/window-buckets.ts), derived from the
  // predictions and rebuilt from them when missing: a bucket's counts as float64 bytes, and
  // per model version and layout the last seq folded in, written in the same transaction.
  `CREATE TABLE window_buckets (
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
  // Shadow scoring (issue 11): a candidate version scores a copy of a request after the
  // answer; its row names the answered prediction it copies and was never returned.
  `ALTER TABLE predictions ADD COLUMN shadow_of TEXT;`,
];

/** The schema version a fully migrated database records (`PRAGMA user_version`). */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the steps not yet run, up to `target` (all of them; tests stop earlier to build old databases). */
export function migrate(db: Database.Database, target = MIGRATIONS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`schema version ${current} is newer than this Vigia knows (${MIGRATIONS.length})`);
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
