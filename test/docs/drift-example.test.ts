// The offline-drift example of docs/drift.md, run as printed: the command of its first `sh`
// block and the output of the `text` block that follows it must agree, line for line, so
// the page never again shows an output that its command does not give.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';

const HEADING = '## Offline drift: vigia drift and vigia baseline';

/** The first `sh` block of the section and the `text` block right after it. */
function example(): { command: string; shown: string } {
  const doc = readFileSync(join(ROOT, 'docs', 'drift.md'), 'utf8');
  const start = doc.indexOf(HEADING);
  assert.ok(start >= 0, `docs/drift.md has the section "${HEADING}"`);
  const m = /```sh\n([^\n]+)\n```\s*\n```text\n([\s\S]*?)```/.exec(doc.slice(start));
  assert.ok(m, 'the section shows a command and its output');
  return { command: m[1]!, shown: m[2]! };
}

describe('the offline-drift example of docs/drift.md', () => {
  it('prints exactly the output the page shows, and exits 0 for HEALTHY', async () => {
    const { command, shown } = example();
    const prefix = 'node bin/vigia.js ';
    assert.ok(command.startsWith(prefix), command);
    const r = await runVigiaCommand(command.slice(prefix.length).split(' '));
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), shown.trimEnd().split('\n'));
  });
});
