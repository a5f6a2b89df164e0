import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { runVigiaCommand } from '../helpers/process.js';

const simulate = (args: string[]) => runVigiaCommand(['simulate', ...args]);

describe('vigia simulate', () => {
  let t: TestApp;
  let server: { url: string; close: () => Promise<void> };
  before(async () => {
    t = await buildTestApp();
    server = await listen(t.app);
  });
  after(async () => {
    await server.close();
    await t.close();
  });

  it('replays rows with a scenario, prints the summary as JSON on stdout and progress on stderr, and exits 0', async () => {
    const r = await simulate(['--url', server.url, '--rows', '300', '--batch', '10', '--scenario', 'covariate-shift', '--feature', 'LIMIT_BAL', '--factor', '3', '--json']);
    assert.equal(r.code, 0, r.output);
    const s = JSON.parse(r.stdout);
    assert.equal(s.requests.sent, 30);
    assert.equal(s.rows.answered, 300);
    assert.deepEqual(s.scenario.params, { feature: 'LIMIT_BAL', factor: 3, shift: 0, share: 1 });
    assert.match(r.output, /^vigia simulate: \d+\.\d s {2}sent 30 {2}answered 30 {2}errors 0 {2}[\d,]+ req\/s$/m);
    const logged = t.db.prepare("SELECT json_extract(features, '$.LIMIT_BAL') AS v FROM predictions ORDER BY seq DESC LIMIT 300").pluck().all() as number[];
    assert.equal(logged.length, 300);
  });

  it('exits 2 naming the flag and the value of a bad flag', async () => {
    const rate = await simulate(['--url', server.url, '--rate', 'fast']);
    assert.equal(rate.code, 2);
    assert.match(rate.output, /option '--rate <req\/s>' argument 'fast' is invalid/);
    const feature = await simulate(['--url', server.url, '--scenario', 'covariate-shift', '--feature', 'SEX', '--factor', '2']);
    assert.equal(feature.code, 2);
    assert.match(feature.output, /^vigia: --feature "SEX": is binary; --scenario covariate-shift needs a numeric feature/m);
    const scenario = await simulate(['--url', server.url, '--scenario', 'chaos']);
    assert.equal(scenario.code, 2);
    assert.match(scenario.output, /^vigia: --scenario "chaos": unknown scenario; one of stable, covariate-shift, category-shift, population-shift, missing-values, concept-drift, gradual$/m);
    const both = await simulate(['--url', server.url, '--csv', 'x.csv', '--bundle', 'models/credit-default']);
    assert.equal(both.code, 2);
    assert.match(both.output, /^vigia: --csv "x.csv": give either --csv or --bundle, not both$/m);
    const missing = await simulate(['--url', server.url, '--csv', '/nonexistent/rows.csv']);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /^vigia: cannot read \/nonexistent\/rows.csv: no such file or directory$/m);
  });

  it('exits 1 when the service cannot be reached, naming the address', async () => {
    const gone = await listen(t.app);
    await gone.close();
    const r = await simulate(['--url', gone.url, '--rows', '10']);
    assert.equal(r.code, 1);
    assert.match(r.output, new RegExp(`^vigia: cannot reach the service at ${gone.url.replaceAll('.', '\\.')}: ECONNREFUSED$`, 'm'));
  });

  it('talks to the service VIGIA_URL names when --url is not given, and lets --url win over it', async () => {
    const gone = await listen(t.app);
    await gone.close();
    const fromEnv = await runVigiaCommand(['simulate', '--rows', '10'], { VIGIA_URL: gone.url });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.output, new RegExp(`^vigia: cannot reach the service at ${gone.url.replaceAll('.', '\\.')}: ECONNREFUSED$`, 'm'));
    const flagWins = await runVigiaCommand(['simulate', '--url', server.url, '--rows', '10', '--json'], { VIGIA_URL: gone.url });
    assert.equal(flagWins.code, 0, flagWins.output);
    assert.equal(JSON.parse(flagWins.stdout).rows.answered, 10);
  });

  it('exits 1 with the summary when most requests fail', async () => {
    const r = await simulate(['--url', server.url, '--rows', '50', '--spread-days', '7']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stdout, /^ {2}failed {5}400 × \d+: event_time_not_accepted: /m);
    assert.match(r.stdout, /^ {2}stopped {4}the first 20 requests all failed$/m);
  });
});
