import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONFIG_KEYS } from '../src/config.js';
import { ROOT, tempDir } from './helpers/app.js';
import { readDoc } from './helpers/docs.js';
import { startVigia, type VigiaProcess } from './helpers/process.js';

const readme = readDoc('README.md');
const tryItStart = readme.indexOf('### Try it');
const tryIt = readme.slice(tryItStart, readme.indexOf('\n## ', tryItStart));

/** Each `curl` line of the "Try it" section, with the ```json block that follows it, if any. */
function examples(): { command: string; documented: string | undefined }[] {
  const blocks = [...tryIt.matchAll(/```(sh|json)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]!.trim() }));
  const out: { command: string; documented: string | undefined }[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const lines = b.body.split('\n').filter((l) => l.startsWith('curl '));
    lines.forEach((command, j) => {
      const next = blocks[i + 1];
      out.push({ command, documented: j === lines.length - 1 && next?.lang === 'json' ? next.body : undefined });
    });
  });
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
    for (const spec of Object.values(CONFIG_KEYS)) {
      assert.ok(configuration.includes(`| \`${spec.key}\` | \`${spec.flag}\` |`), `docs/configuration.md lacks ${spec.key}`);
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
