import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { startVigia } from '../helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());

describe('the audit log under SIGKILL', () => {
  it('holds every prediction a client received, after the process is killed mid-load and restarted', async () => {
    const dbPath = join(tmp.dir, 'vigia.db');
    const env = { VIGIA_DB: dbPath, VIGIA_LOG_LEVEL: 'warn' };
    const vigia = await startVigia(env);
    const rows = demoRows(200);
    const received: string[] = [];
    let stop = false;
    let failures = 0;
    const client = async (c: number) => {
      for (let i = c; !stop; i += 16) {
        const batch = i % 5 === 0;
        const body = batch ? { instances: rows.slice(i % 190, (i % 190) + 10) } : { features: rows[i % rows.length] };
        try {
          const res = await fetch(`${vigia.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          if (res.status !== 200) throw new Error(`status ${res.status}`);
          const json = (await res.json()) as { prediction_id?: string; predictions?: { prediction_id: string }[] };
          if (batch) received.push(...json.predictions!.map((p) => p.prediction_id));
          else received.push(json.prediction_id!);
        } catch {
          failures++; // requests cut by the kill: the client never got an answer
          if (stop) return;
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    // Kill mid-load once enough was answered (by count, not by time: the machine may be busy).
    for (const until = Date.now() + 60_000; received.length <= 200 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    vigia.proc.kill('SIGKILL');
    const { signal } = await vigia.exited;
    stop = true;
    await Promise.all(clients);
    assert.equal(signal, 'SIGKILL');
    assert.ok(received.length > 200, `only ${received.length} predictions were answered before the kill`);

    // Restart on the same database: it recovers the WAL and serves again.
    const again = await startVigia(env);
    const ok = await fetch(`${again.url}/readyz`);
    assert.equal(ok.status, 200);
    again.proc.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);

    const db = new Database(dbPath, { readonly: true });
    const logged = new Set(db.prepare('SELECT id FROM predictions').pluck().all() as string[]);
    db.close();
    const lost = received.filter((id) => !logged.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${received.length} answered predictions are not in the audit log`);
    assert.ok(logged.size >= received.length);
  });
});
