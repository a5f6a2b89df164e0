import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MONITOR_ONLY_MODELS, tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { kserveHeaders, v1Request, v1Response } from '../helpers/kserve.js';
import { startVigia } from '../helpers/process.js';

const tmp = tempDir();

/** Resolves when `done()` holds, checking every 20 ms, or after `ms` anyway. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
after(() => tmp.remove());
const MODEL = 'credit-default-observed';

describe('the ingest under SIGKILL', () => {
  it('holds every observation and every CloudEvent half it acknowledged, after the process is killed mid-load and restarted', async () => {
    const dbPath = join(tmp.dir, 'vigia.db');
    const env = { VIGIA_DB: dbPath, VIGIA_MODELS_DIR: MONITOR_ONLY_MODELS, VIGIA_LOG_LEVEL: 'warn' };
    const vigia = await startVigia(env);
    const rows = demoRows(100);
    const observed: string[] = [];
    const halves: string[] = [];
    let stop = false;
    const post = async (path: string, headers: Record<string, string>, body: unknown) => {
      const res = await fetch(`${vigia.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.json() as Promise<{ observations?: { prediction_id: string }[] }>;
    };
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        try {
          if (c % 2 === 0) {
            const size = i % 3 === 0 ? 20 : 1;
            const batch = Array.from({ length: size }, (_, j) => ({ features: rows[(i + j) % rows.length], probability: ((i + j) % 100) / 100, prediction_id: `obs-${c}-${i}-${j}` }));
            const json = await post(`/v1/models/${MODEL}/observations`, { 'content-type': 'application/json' }, { observations: batch });
            observed.push(...json.observations!.map((o) => o.prediction_id));
          } else {
            // Halves out of order: the response first, for every other event.
            const id = `ce-${c}-${i}`;
            const order: ('request' | 'response')[] = i % 2 === 0 ? ['request', 'response'] : ['response', 'request'];
            for (const half of order) {
              await post(`/v1/models/${MODEL}/cloudevents`, kserveHeaders(half, id), half === 'request' ? v1Request([rows[i % rows.length]!]) : v1Response([0.3]));
              halves.push(`${id} ${half}`);
            }
          }
        } catch {
          if (stop) return; // cut by the kill: the client never got an answer
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    // Kill mid-load once enough was acknowledged (by count, not by time: the machine may be busy).
    await waitFor(() => observed.length > 100 && halves.length > 20, 60_000);
    vigia.proc.kill('SIGKILL');
    assert.equal((await vigia.exited).signal, 'SIGKILL');
    stop = true;
    await Promise.all(clients);
    assert.ok(observed.length > 100, `only ${observed.length} observations were acknowledged before the kill`);
    assert.ok(halves.length > 20, `only ${halves.length} CloudEvent halves were acknowledged before the kill`);

    const again = await startVigia(env);
    assert.equal((await fetch(`${again.url}/readyz`)).status, 200);
    again.proc.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);

    const db = new Database(dbPath, { readonly: true });
    const logged = new Set(db.prepare("SELECT id FROM predictions WHERE source = 'observed'").pluck().all() as string[]);
    const kept = new Map((db.prepare('SELECT ce_id, request IS NOT NULL, response IS NOT NULL, paired_ms IS NOT NULL FROM cloudevents').raw().all() as [string, number, number, number][])
      .map(([id, request, response, paired]) => [id, { request: request === 1 || paired === 1, response: response === 1 || paired === 1, paired: paired === 1 }]));
    db.close();
    const lost = observed.filter((id) => !logged.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${observed.length} acknowledged observations are not in the audit log`);
    const lostHalves = halves.filter((h) => {
      const [id, half] = h.split(' ') as [string, 'request' | 'response'];
      return kept.get(id)?.[half] !== true;
    });
    assert.deepEqual(lostHalves, [], `${lostHalves.length} of ${halves.length} acknowledged halves are neither pending nor paired`);
    const pairedIds = [...kept].filter(([, k]) => k.paired).map(([id]) => id);
    assert.ok(pairedIds.length > 0);
    for (const id of pairedIds) assert.ok(logged.has(id), `the pair ${id} has its observation row`);
  });
});
