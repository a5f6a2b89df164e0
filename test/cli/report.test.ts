import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, tempDir, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';
import { listen } from '../helpers/listen.js';
import { runVigiaCommand } from '../helpers/process.js';

const report = (args: string[]) => runVigiaCommand(['report', ...args]);

describe('vigia report', () => {
  let t: TestApp;
  let server: { url: string; close: () => Promise<void> };
  const tmp = tempDir('vigia-report-');
  before(async () => {
    t = await buildTestApp({ drift: true });
    server = await listen(t.app);
    await request(t.app).post('/predict').send({ instances: resample(600).map((r) => ({ ...r, AGE: r['AGE']! + 20 })) }).expect(200);
  });
  after(async () => {
    await server.close();
    await t.close();
    tmp.remove();
  });

  it('prints the weekly report in Markdown, read from the service\'s report evaluated now', async () => {
    const r = await report(['--url', server.url, '--model', 'credit-default', '--window', '7d']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^# Weekly model report: credit-default 1\.0\.0$/m);
    assert.match(r.stdout, /^\*\*CRITICAL\*\*/m);
    assert.match(r.stdout, /^\| AGE \| numeric \| .* \| critical \|$/m);
    assert.match(r.stdout, /It covers the 7 days asked for/);
  });

  it('writes HTML to --out, and says when the window asked for is not the service\'s', async () => {
    const out = join(tmp.dir, 'weekly.html');
    const r = await report(['--url', server.url, '--window', '30d', '--format', 'html', '--out', out]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`^vigia: weekly report of credit-default \\(CRITICAL\\) written to ${out}$`, 'm'));
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<h2>Data drift<\/h2>/);
    assert.match(html, /30 days were asked for, but the service evaluates its own window of 7 days/);
  });

  it('talks to the service VIGIA_URL names when --url is not given, and names VIGIA_URL or --url when either is malformed', async () => {
    const r = await runVigiaCommand(['report'], { VIGIA_URL: server.url });
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^# Weekly model report: credit-default 1\.0\.0$/m);
    const env = await runVigiaCommand(['report'], { VIGIA_URL: 'localhost 8080' });
    assert.equal(env.code, 2);
    assert.match(env.output, /^vigia: config VIGIA_URL="localhost 8080" is invalid: expected an http:\/\/ or https:\/\/ URL/m);
    const flag = await report(['--url', 'ftp://x']);
    assert.equal(flag.code, 2);
    assert.match(flag.output, /^error: option '--url <url>' argument 'ftp:\/\/x' is invalid\. expected an http:\/\/ or https:\/\/ URL/m);
  });

  it('says it cannot write the --out path the user gave, and leaves no temporary file', async () => {
    const out = join(tmp.dir, 'missing', 'w.md');
    const r = await report(['--url', server.url, '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.output, new RegExp(`^vigia: cannot write ${out.replaceAll('.', '\\.')}: its directory does not exist$`, 'm'));
    assert.doesNotMatch(r.output, /partial|cannot read/);
    assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('partial')), []);
  });

  it('exits 2 naming a bad flag or an unknown model, and 1 when the service is unreachable', async () => {
    const format = await report(['--url', server.url, '--format', 'pdf']);
    assert.equal(format.code, 2);
    assert.match(format.output, /option '--format <md\|html>' argument 'pdf' is invalid\. expected md or html\./);
    const model = await report(['--url', server.url, '--model', 'fraud']);
    assert.equal(model.code, 2);
    assert.match(model.output, /^vigia: --model "fraud": the service at .* has no such model; it serves credit-default$/m);
    const gone = await listen(t.app);
    await gone.close();
    const down = await report(['--url', gone.url]);
    assert.equal(down.code, 1);
    assert.match(down.output, /^vigia: cannot reach the service at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/m);
  });
});
