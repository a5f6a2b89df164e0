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
  // Shadow scoring (issue 11): a candidate version scores a copy of a request after the
  // answer; its row names the answered prediction it copies and was never returned.
  `ALTER TABLE predictions ADD COLUMN shadow_of TEXT;`,
];

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
