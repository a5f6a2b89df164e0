import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { startVigia } from '../helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());

describe('graceful shutdown on SIGTERM', () => {
  it('stops accepting, finishes the request in flight, logs it, and exits 0', async () => {
    const dbPath = join(tmp.dir, 'vigia.db');
    const vigia = await startVigia({ VIGIA_DB: dbPath, VIGIA_LOG_LEVEL: 'info' });
    const body = Buffer.from(JSON.stringify({ features: demoRows(1)[0] }));
    const { port, hostname } = new URL(vigia.url);

    // A request whose body is only half sent when SIGTERM arrives.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: hostname, port, path: '/predict', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 20));
      setTimeout(() => {
        vigia.proc.kill('SIGTERM');
        setTimeout(async () => {
          // The listener is closed: a new connection is refused while the old one drains.
          await assert.rejects(fetch(`${vigia.url}/healthz`));
          req.end(body.subarray(20));
        }, 300);
      }, 200);
    });

    const res = await answer;
    assert.equal(res.status, 200, res.body);
    const { prediction_id } = JSON.parse(res.body) as { prediction_id: string };
    const { code } = await vigia.exited;
    assert.equal(code, 0, vigia.output());
    assert.match(vigia.output(), /"msg":"shutting down","signal":"SIGTERM"/);
    assert.match(vigia.output(), /"msg":"stopped"/);
    const db = new Database(dbPath, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM predictions WHERE id = ?').pluck().get(prediction_id), 1);
    db.close();
  });
});
