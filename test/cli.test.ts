import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURE_MODELS, tempDir } from './helpers/app.js';
import { runVigia } from './helpers/process.js';

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

  it('lets a flag override the environment', async () => {
    const run = runVigia(['serve', '--port', 'nope'], { PORT: '8080', VIGIA_DB: join(tmp.dir, 'z.db') });
    assert.equal((await run.exited).code, 1);
    assert.match(run.output(), /PORT="nope"/);
  });
});
