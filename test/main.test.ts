import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/app.js';
import { runVigia, startVigia } from './helpers/process.js';

/** Pids of the processes whose environment holds `marker` (Linux /proc), the test runner's own excluded. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(join('/proc', entry, 'environ')).includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(join('/proc', String(pid), 'stat'), 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
};

describe('vigia serve when start-up fails', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  let blocker: Server;
  let port: number;
  const tmp = tempDir();
  before(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    tmp.remove();
  });

  it('exits non-zero on a port in use, names EADDRINUSE, and leaves no evaluation process behind', async () => {
    const dbPath = join(tmp.dir, `port-in-use-${process.pid}.db`);
    const started = Date.now();
    const run = runVigia(['serve', '--port', String(port), '--host', '127.0.0.1'], { VIGIA_DB: dbPath, VIGIA_EVAL_INTERVAL: '60s' });
    // Every process the service starts inherits its environment, so the database path marks them.
    const seen = new Set<number>();
    const watch = setInterval(() => {
      for (const pid of processesWith(`VIGIA_DB=${dbPath}`)) if (pid !== run.proc.pid) seen.add(pid);
    }, 10);
    const exit = await Promise.race([run.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000).unref())]);
    clearInterval(watch);
    if (exit === 'hung') {
      run.proc.kill('SIGKILL');
      assert.fail(`vigia serve still running 60 s after a failed start:\n${run.output()}`);
    }
    assert.equal(exit.code, 1, run.output());
    assert.match(run.output(), /EADDRINUSE/);
    assert.ok(seen.size > 0, 'the evaluation process was seen while vigia started (else this test proves nothing)');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual([...seen].filter(alive), [], 'no process started by vigia outlives it');
    assert.deepEqual(processesWith(`VIGIA_DB=${dbPath}`), []);
    assert.ok(Date.now() - started < 60_000);
  });

  it('exits non-zero on a models folder that holds no bundle, naming the folder', async () => {
    const run = runVigia(['serve', '--port', '0', '--host', '127.0.0.1'], { VIGIA_DB: join(tmp.dir, 'empty.db'), VIGIA_MODELS_DIR: tmp.dir });
    const exit = await run.exited;
    assert.notEqual(exit.code, 0, run.output());
    assert.match(run.output(), new RegExp(tmp.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
});

describe('vigia serve with tokens in its environment', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('requires VIGIA_PREDICT_TOKEN on scoring and VIGIA_LABELS_TOKEN on labels, and logs neither', async () => {
    const predictToken = 'serve-predict-token-0123456789';
    const labelsToken = 'serve-labels-token-0123456789';
    const vigia = await startVigia({ VIGIA_DB: join(tmp.dir, 'tokens.db'), VIGIA_PREDICT_TOKEN: predictToken, VIGIA_LABELS_TOKEN: labelsToken, VIGIA_LOG_LEVEL: 'debug' });
    try {
      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${vigia.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
      assert.equal((await post('/predict', { features: {} })).status, 401);
      assert.equal((await post('/v1/labels', { labels: [] }, predictToken)).status, 403);
      assert.equal((await post('/predict', { features: {} }, predictToken)).status, 400, 'past the token, the body is judged');
      assert.equal((await post('/v1/labels', { labels: [] }, labelsToken)).status, 400);
    } finally {
      vigia.proc.kill('SIGTERM');
      await vigia.exited;
    }
    assert.ok(!vigia.output().includes(predictToken) && !vigia.output().includes(labelsToken), 'no token in the output');
  });
});
