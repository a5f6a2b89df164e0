import pg from 'pg';
import type { ExportRow } from './export-rows.js';
import { connectionConfig } from './postgres.js';

/** Rows one FETCH brings from the server: memory holds one batch, whatever the range holds. */
export const PG_EXPORT_FETCH_ROWS = 5000;

const ROWS = `SELECT p.id, p.event_ts_ms, p.ts_ms, p.features, p.probability, p.decision, p.band, p.threshold, p.bundle_hash, l.label, l.label_ts_ms
  FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id
  WHERE p.model = $1 AND p.model_version = $2 AND p.event_ts_ms >= $3 AND p.event_ts_ms < $4
  ORDER BY p.event_ts_ms, p.ts_ms, p.id`;

/** bigint columns come back as text from node-postgres; every time here is a ms count well within 2^53. */
const ms = (v: string | null): number | null => (v === null ? null : Number(v));

/**
 * Reads the predictions of one model version in an event-time range from the PostgreSQL audit
 * log, oldest first, each with its label if one arrived: the same rows as the SQLite
 * ExportReader (src/store/export-rows.ts). A server-side cursor in one READ ONLY, REPEATABLE
 * READ transaction gives a consistent snapshot (rows the fleet commits meanwhile, or a
 * partition retention drops, do not tear the file) and keeps one batch in memory.
 */
export class PgExportReader {
  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<PgExportReader> {
    const client = new pg.Client(connectionConfig(url));
    // An error of the idle connection rejects the query in flight; without a listener it would crash the command.
    client.on('error', () => undefined);
    await client.connect();
    return new PgExportReader(client);
  }

  /** The version of `model` with the latest answered prediction (shadow rows do not count), if the log holds any. */
  async latestVersion(model: string): Promise<string | undefined> {
    const r = await this.client.query<{ model_version: string }>(
      'SELECT model_version FROM predictions WHERE model = $1 AND shadow_of IS NULL GROUP BY model_version ORDER BY max(event_ts_ms) DESC LIMIT 1',
      [model],
    );
    return r.rows[0]?.model_version;
  }

  async *iterate(model: string, version: string, fromMs: number, toMs: number, fetchRows = PG_EXPORT_FETCH_ROWS): AsyncGenerator<ExportRow> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    let done = false;
    try {
      await this.client.query({ text: `DECLARE vigia_export NO SCROLL CURSOR FOR ${ROWS}`, values: [model, version, fromMs, toMs] });
      for (;;) {
        const batch = await this.client.query<unknown[]>({ text: `FETCH FORWARD ${fetchRows} FROM vigia_export`, rowMode: 'array' });
        for (const [id, eventTs, ts, features, probability, decision, band, threshold, bundleHash, label, labelTs] of batch.rows as [string, string, string, string, number, number, string, number, string, number | null, string | null][]) {
          yield [id, ms(eventTs)!, ms(ts)!, features, probability, decision, band, threshold, bundleHash, label, ms(labelTs)];
        }
        if (batch.rows.length < fetchRows) break;
      }
      await this.client.query('COMMIT');
      done = true;
    } finally {
      // A failed fetch, or a consumer that stopped early: end the transaction, which closes the cursor.
      if (!done) await this.client.query('ROLLBACK').catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
