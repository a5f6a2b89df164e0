import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { FIXTURE_MODELS, ROOT, tempDir } from './helpers/app.js';
import { REFERENCE_ROWS } from './helpers/demo-baseline.js';
import { runVigia, runVigiaCommand, startVigia } from './helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());

describe('vigia serve', () => {
  it('stops with exit code 1 and names the file, the field and the value of a bad bundle', async () => {
    const models = join(tmp.dir, 'models');
    cpSync(join(FIXTURE_MODELS, 'tensor-model'), join(models, 'tensor-model'), { recursive: true });
    const path = join(models, 'tensor-model', 'vigia.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.decision.threshold = 'high';
    writeFileSync(path, JSON.stringify(manifest));
    const run = runVigia(['serve', '--port', '0'], { VIGIA_MODELS_DIR: models, VIGIA_DB: join(tmp.dir, 'x.db') });
    const { code } = await run.exited;
    assert.equal(code, 1);
    assert.match(run.output(), /^vigia: .*tensor-model\/vigia.json: field "decision.threshold" must be a number from 0 to 1, got "high"$/m);
  });

  it('stops with exit code 1 on a malformed setting, naming the key and the value', async () => {
    const run = runVigia(['serve'], { PORT: 'http', VIGIA_DB: join(tmp.dir, 'y.db') });
    assert.equal((await run.exited).code, 1);
    assert.match(run.output(), /vigia: config PORT="http" is invalid: expected an integer from 0 to 65535/);
  });

  it('stops with exit code 0 when a Ctrl-C reaches its whole process group, evaluations running on a timer', { timeout: 60_000 }, async () => {
    // A terminal's Ctrl-C signals the service and its evaluation process at once.
    const proc = spawn(process.execPath, [join(ROOT, 'bin', 'vigia.js'), 'serve', '--port', '0', '--host', '127.0.0.1'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', VIGIA_DB: join(tmp.dir, 'ctrl-c.db'), VIGIA_EVAL_INTERVAL: '1s', VIGIA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    while (!out.includes('listening on')) await new Promise((r) => setTimeout(r, 50));
    // Let a few timer evaluations run, then signal the group as a terminal does.
    await new Promise((r) => setTimeout(r, 2500));
    process.kill(-proc.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, out);
  });

  it('lets a flag override the environment', async () => {
    const vigia = await startVigia({ PORT: 'nope', VIGIA_DB: join(tmp.dir, 'z.db') });
    vigia.proc.kill('SIGTERM');
    assert.equal((await vigia.exited).code, 0);
  });

  it('names the flag, not the environment variable, when a flag has a bad value, and exits 2', async () => {
    const r = await runVigiaCommand(['serve', '--accept-event-time', 'yes'], { VIGIA_DB: join(tmp.dir, 'f.db') });
    assert.equal(r.code, 2);
    assert.match(r.output, /^error: option '--accept-event-time \[true\|false\]' argument 'yes' is invalid\. expected true or false\.$/m);
    assert.doesNotMatch(r.output, /VIGIA_ACCEPT_EVENT_TIME/);
    const window = await runVigiaCommand(['serve', '--window', 'a week'], { VIGIA_DB: join(tmp.dir, 'f.db') });
    assert.equal(window.code, 2);
    assert.match(window.output, /option '--window <value>' argument 'a week' is invalid\. expected a duration such as 7d/);
  });

  it('takes a bare --accept-event-time as true, and answers a flag without its value in two short lines', async () => {
    // The bare switch parses, so the next error is about --port, and the whole answer is two lines, not the help.
    const r = await runVigiaCommand(['serve', '--accept-event-time', '--port'], { VIGIA_DB: join(tmp.dir, 'g.db') });
    assert.equal(r.code, 2);
    assert.deepEqual(r.output.trimEnd().split('\n'), ["error: option '--port <value>' argument missing", '(vigia <command> --help lists the options)']);
    const vigia = await startVigia({ VIGIA_DB: join(tmp.dir, 'h.db'), VIGIA_LOG_LEVEL: 'warn' }, ['--accept-event-time']);
    try {
      const res = await fetch(`${vigia.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: REFERENCE_ROWS[0], event_time: new Date(Date.now() - 86_400_000).toISOString() }),
      });
      assert.equal(res.status, 200, await res.text());
    } finally {
      vigia.proc.kill('SIGTERM');
      await vigia.exited;
    }
  });

  it('names an unknown option as unknown, with the option it may have meant', async () => {
    const r = await runVigiaCommand(['drift', '--currnet', 'a.csv', '--reference', 'b.csv']);
    assert.equal(r.code, 2);
    assert.match(r.output, /^error: unknown option '--currnet'\n\(Did you mean --current\?\)$/m);
    assert.doesNotMatch(r.output, /required option/);
    const missing = await runVigiaCommand(['drift', '--reference', 'b.csv']);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /^error: required option '--current <file>' not specified$/m);
  });

  it('shows durations in --help as durations, not milliseconds', async () => {
    const help = async (command: string) => (await runVigiaCommand([command, '--help'])).stdout.replace(/\s+/g, ' ');
    const [report, simulate, serve] = [await help('report'), await help('simulate'), await help('serve')];
    assert.match(report, /\(default: 7d\)/);
    assert.match(report, /\(default: 60s\)/);
    assert.match(simulate, /\(default: 30s\)/);
    assert.match(serve, /env VIGIA_WINDOW, default 7d/);
    // 7 days, 60 s and 30 s in milliseconds, as commander printed them before.
    for (const text of [report, simulate, serve]) assert.doesNotMatch(text, /\b(604800000|60000|30000)\b/);
  });
});
