import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT_CONFIG_KEYS, CONFIG_KEYS, SECRET_KEYS } from '../src/config.js';
import { ROOT, tempDir } from './helpers/app.js';
import { allDocs, readDoc } from './helpers/docs.js';
import { startVigia, type VigiaProcess } from './helpers/process.js';

const readme = readDoc('README.md');
/**
 * Each `curl` line against the service on localhost:8080 in a ```sh block of the README or of
 * docs/, with the ```json block that follows it, if any.
 */
function examples(): { command: string; documented: string | undefined }[] {
  const out: { command: string; documented: string | undefined }[] = [];
  for (const text of allDocs().values()) {
    const blocks = [...text.matchAll(/```(sh|json|text)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]!.trim() }));
    blocks.forEach((b, i) => {
      if (b.lang !== 'sh') return;
      const lines = b.body.split('\n').filter((l) => l.startsWith('curl ') && l.includes('localhost:8080'));
      lines.forEach((command, j) => {
        const next = blocks[i + 1];
        out.push({ command, documented: j === lines.length - 1 && next?.lang === 'json' ? next.body : undefined });
      });
    });
  }
  return out;
}

/** A documented answer as JSON; a value written with "…" matches any value of its type. */
function documentedJson(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/:(-?[\d.]+)…/g, ':"…number"')) as Record<string, unknown>;
}

function matches(actual: unknown, documented: unknown, path: string): void {
  if (typeof documented === 'string' && documented.includes('…')) {
    assert.equal(typeof actual, documented === '…number' ? 'number' : 'string', path);
  } else if (typeof documented === 'object' && documented !== null) {
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(documented).sort(), `${path} keys`);
    for (const [k, v] of Object.entries(documented)) matches((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, documented, path);
  }
}

describe('the README', () => {
  const tmp = tempDir();
  let vigia: VigiaProcess;
  before(async () => {
    vigia = await startVigia({ VIGIA_DB: join(tmp.dir, 'vigia.db'), VIGIA_LOG_LEVEL: 'warn' });
  });
  after(async () => {
    vigia.proc.kill('SIGTERM');
    await vigia.exited;
    tmp.remove();
  });

  it('has curl examples to run', () => {
    assert.ok(examples().length >= 6, `found ${examples().length}`);
  });

  it('runs every curl example as printed and gets the documented answer', () => {
    const port = new URL(vigia.url).port;
    for (const { command, documented } of examples()) {
      const r = spawnSync('sh', ['-c', command.replaceAll('localhost:8080', `127.0.0.1:${port}`)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${command}\n${r.stderr}`);
      assert.ok(r.stdout.length > 0, command);
      if (command.endsWith('/metrics')) {
        assert.match(r.stdout, /^vigia_predictions_total\{/m);
        continue;
      }
      const answer = JSON.parse(r.stdout) as unknown;
      if (documented !== undefined) matches(answer, documentedJson(documented), command.slice(0, 60));
    }
  });

  it('documents every configuration key with its flag in docs/configuration.md', () => {
    const configuration = readDoc('configuration.md');
    for (const spec of [...Object.values(CONFIG_KEYS), ...Object.values(CLIENT_CONFIG_KEYS)]) {
      assert.ok(configuration.includes(`| \`${spec.key}\` | \`${spec.flag}\` |`), `docs/configuration.md lacks ${spec.key}`);
    }
    for (const spec of Object.values(SECRET_KEYS)) {
      assert.ok(configuration.includes(`| \`${spec.key}\` or \`${spec.key}_FILE\` | none |`), `docs/configuration.md lacks the secret ${spec.key}`);
    }
  });

  it('documents every metric in the metric table of docs/metrics.md', () => {
    const metrics = readDoc('metrics.md');
    const source = readFileSync(join(ROOT, 'src', 'telemetry', 'metrics.ts'), 'utf8');
    const names = [...source.matchAll(/name: '(vigia_[a-z_]+)'/g)].map((m) => m[1]!);
    assert.ok(names.length >= 10);
    for (const name of names) assert.ok(metrics.includes(`| \`${name}\` |`), `docs/metrics.md lacks ${name}`);
  });
});

/** The README walkthrough as it is printed: its ```sh commands, each with the ```text output shown after it. */
function walkthrough(): { command: string; shown: string | undefined }[] {
  const lines = readme.slice(readme.indexOf('## Walkthrough')).split('\n');
  let fenced = false;
  // The section ends at the next ## heading outside a code block (the weekly report shown has its own).
  const end = lines.findIndex((l, i) => (l.startsWith('```') ? ((fenced = !fenced), false) : !fenced && i > 0 && l.startsWith('## ')));
  const section = lines.slice(0, end === -1 ? undefined : end).join('\n');
  const blocks = [...section.matchAll(/```(sh|text)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]!.trimEnd() }));
  const steps: { command: string; shown: string | undefined }[] = [];
  blocks.forEach((b, i) => {
    if (b.lang === 'sh') for (const command of b.body.split('\n')) steps.push({ command, shown: undefined });
    else if (i > 0 && steps.length > 0) {
      const last = steps[steps.length - 1]!;
      if (last.shown === undefined) last.shown = b.body;
      else steps.push({ command: steps.filter((s) => s.command.startsWith('curl ')).at(-1)!.command, shown: b.body }); // "the same curl as before"
    }
  });
  return steps;
}

/** A shown line as a pattern: `…` stands for anything, and a timing line keeps only its label. */
function shownPattern(line: string): RegExp {
  const timing = /^( {2}(requests|latency|event time) )/.exec(line);
  if (timing) return new RegExp(`^${timing[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  return new RegExp(`^${line.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

describe('the README walkthrough', () => {
  const tmp = tempDir('vigia-walkthrough-');
  let serve: ReturnType<typeof spawn> | undefined;
  after(async () => {
    if (serve !== undefined && serve.exitCode === null) {
      const exited = new Promise((resolve) => serve!.once('exit', resolve));
      process.kill(-serve.pid!, 'SIGTERM'); // the shell and the service it started
      await exited;
    }
    tmp.remove();
  });

  it('prints, on a fresh database, what the README shows after each command, but the timings', { timeout: 600_000 }, async () => {
    const steps = walkthrough();
    assert.ok(steps.length >= 8, `found ${steps.length} steps`);
    const local = (command: string) => command.replaceAll('rm -rf demo', `rm -rf ${tmp.dir}/demo`).replaceAll('demo/', `${tmp.dir}/demo/`);
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', HOST: '127.0.0.1' };
    let url = '';
    for (const { command, shown } of steps) {
      let output: string;
      let stdout: string;
      if (command.includes(' serve')) {
        // The service runs for the whole walkthrough, on a free port instead of 8181.
        serve = spawn('sh', ['-c', local(command).replace('PORT=8181', 'PORT=0')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        stdout = await new Promise<string>((resolve, reject) => {
          let text = '';
          const timer = setTimeout(() => reject(new Error(`no listening line in 60 s: ${text}`)), 60_000);
          serve!.stdout!.on('data', (d: Buffer) => {
            text += d.toString();
            if (text.includes('\n')) { clearTimeout(timer); resolve(text); }
          });
        });
        url = /listening on (http:\/\/[\d.]+:\d+)/.exec(stdout)![1]!;
        stdout = stdout.replace(url, 'http://127.0.0.1:8181');
        output = stdout;
      } else if (command.startsWith('export VIGIA_URL=')) {
        env['VIGIA_URL'] = url;
        continue;
      } else {
        // "After the next evaluation": evaluate now rather than wait for the 10 s timer.
        if (command.startsWith('curl ')) assert.equal((await fetch(`${url}/v1/models/credit-default/report?refresh=true`)).status, 200);
        const r = spawnSync('sh', ['-c', local(command)], { cwd: ROOT, env, encoding: 'utf8' });
        assert.equal(r.status, 0, `${command}\n${r.stderr}`);
        stdout = r.stdout.replaceAll(url, 'http://localhost:8181');
        output = `${stdout}\n${r.stderr.replaceAll(url, 'http://localhost:8181')}`.replaceAll(`${tmp.dir}/demo/`, 'demo/');
      }
      if (shown === undefined) continue;
      const lines = output.split('\n');
      for (const line of shown.split('\n')) assert.ok(lines.some((l) => shownPattern(line).test(l)), `${command}\nshown: ${line}\nprinted:\n${output}`);
      const shownLines = shown.split('\n').map(shownPattern);
      for (const line of stdout.trimEnd().split('\n').filter((l) => l !== '')) {
        assert.ok(shownLines.some((p) => p.test(line)), `${command}\nprinted but not shown: ${line}`);
      }
    }
  });
});
