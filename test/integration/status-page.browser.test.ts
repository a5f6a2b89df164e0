import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { simulate, type SimulateOptions } from '../../src/simulate/run.js';
import { DEMO_MODELS, ROOT, tempDir } from '../helpers/app.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Debian chromium in a fresh profile. A missing browser fails the test: a skipped check is not a passing one. */
async function launch(profile: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed: apt-get install chromium (.ci/run does)`);
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
}

describe('the status page in a browser, after stable and after shifted traffic from the simulator', () => {
  const tmp = tempDir('vigia-browser-');
  const profile = mkdtempSync(join(tmpdir(), 'vigia-chromium-'));
  let vigia: VigiaProcess;
  let browser: BrowserContext;
  let page: Page;
  const offsite: string[] = [];
  const run = (extra: Partial<SimulateOptions>) =>
    simulate({ url: vigia.url, bundle: join(DEMO_MODELS, 'credit-default'), batch: 20, concurrency: 4, seed: 1, scenario: 'stable', params: {}, timeoutMs: 10_000, rows: 2000, ...extra });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [vigia, browser] = await Promise.all([
      startVigia({ VIGIA_DB: join(tmp.dir, 'vigia.db'), VIGIA_LOG_LEVEL: 'warn', VIGIA_ACCEPT_EVENT_TIME: 'true', VIGIA_EVAL_INTERVAL: '0s' }),
      launch(profile),
    ]);
    page = await browser.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(vigia.url)) offsite.push(r.url());
    });
  });
  after(async () => {
    await browser?.close();
    vigia?.proc.kill('SIGTERM');
    await vigia?.exited;
    tmp.remove();
    rmSync(profile, { recursive: true, force: true });
  });

  it('shows HEALTHY and no flagged feature after a week of stable traffic', async () => {
    const s = await run({ spreadDays: 7 });
    assert.equal(s.rows.answered, 2000, JSON.stringify(s.requests.failures));
    await page.goto(`${vigia.url}/status?refresh=true`);
    assert.equal(await page.locator('#state').getAttribute('data-status'), 'HEALTHY');
    assert.equal((await page.locator('#state .word').textContent())?.trim(), 'HEALTHY');
    assert.equal(await page.locator('#features tbody tr').count(), 23);
    assert.equal(await page.locator('tr[data-severity="critical"], tr[data-severity="warning"]').count(), 0);
    assert.match((await page.locator('#next-steps h3').textContent()) ?? '', /Keep monitoring/);
    assert.match((await page.locator('#figures').textContent()) ?? '', /Window2,000predictions over 7 days/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-stable.png'), fullPage: true });
  });

  it('shows CRITICAL with LIMIT_BAL flagged critical after LIMIT_BAL is tripled, on a desktop and on a phone', async () => {
    const s = await run({ scenario: 'covariate-shift', params: { feature: 'LIMIT_BAL', factor: 3 }, seed: 2 });
    assert.equal(s.rows.answered, 2000);
    await page.goto(`${vigia.url}/status?refresh=true`);
    assert.equal(await page.locator('#state').getAttribute('data-status'), 'CRITICAL');
    const first = page.locator('#features tbody tr').first();
    assert.equal(await first.getAttribute('data-feature'), 'LIMIT_BAL');
    assert.equal(await first.getAttribute('data-severity'), 'critical');
    assert.equal(await page.locator('tr[data-severity="critical"]').count(), 1);
    assert.match((await page.locator('#next-steps h3').textContent()) ?? '', /Retrain now/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-shifted.png'), fullPage: true });

    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${vigia.url}/status`);
    assert.equal(await phone.locator('#state').getAttribute('data-status'), 'CRITICAL');
    const width = Number(await phone.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `the page is ${width} px wide on a 390 px phone: only the tables may scroll sideways`);
    await phone.screenshot({ path: join(ARTIFACTS, 'status-shifted-phone.png') });
    await phone.close();

    const metrics = await (await fetch(`${vigia.url}/metrics`)).text();
    assert.match(metrics, /^vigia_feature_drift_severity\{model="credit-default",version="1\.0\.0",feature="LIMIT_BAL"\} 2$/m);
    assert.match(metrics, /^vigia_drift_status\{model="credit-default",version="1\.0\.0"\} 2$/m);
    assert.deepEqual(offsite, [], 'the page loads nothing from outside the service');
  });
});
