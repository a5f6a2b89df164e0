import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BundleError } from '../../src/errors.js';
import { loadModels } from '../../src/model/registry.js';
import { DEMO_MODELS, FIXTURE_MODELS, MONITOR_ONLY_MODELS, tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;

/** A copy of the tensor-model fixture in its own models folder, edited by `edit`. */
function bundle(edit: (manifest: Record<string, any>) => void, files: (dir: string) => void = () => {}): string {
  const models = join(tmp.dir, `models-${n++}`);
  const dir = join(models, 'tensor-model');
  cpSync(join(FIXTURE_MODELS, 'tensor-model'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'vigia.json'), 'utf8'));
  edit(manifest);
  writeFileSync(join(dir, 'vigia.json'), JSON.stringify(manifest));
  files(dir);
  return models;
}

const rejects = (models: string, message: RegExp) => assert.rejects(loadModels(models, undefined), (err: unknown) => {
  assert.ok(err instanceof BundleError, String(err));
  assert.match(err.message, message);
  return true;
});

describe('loadModels', () => {
  it('loads the demo bundle and makes it the default', async () => {
    const reg = await loadModels(DEMO_MODELS, undefined);
    assert.equal(reg.defaultModel, 'credit-default');
    assert.equal(reg.get('credit-default')!.unwrappedZipMap, true);
    await reg.close();
  });

  it('loads several bundles; the default is the first by name unless VIGIA_DEFAULT_MODEL says', async () => {
    const a = await loadModels(FIXTURE_MODELS, undefined);
    assert.deepEqual(a.list().map((m) => m.manifest.name).sort(), ['tensor-model', 'zipmap-model']);
    assert.equal(a.defaultModel, 'tensor-model');
    await a.close();
    const b = await loadModels(FIXTURE_MODELS, 'zipmap-model');
    assert.equal(b.defaultModel, 'zipmap-model');
    await b.close();
    await assert.rejects(loadModels(FIXTURE_MODELS, 'nope'), /has no model named "nope" \(VIGIA_DEFAULT_MODEL\); loaded: tensor-model, zipmap-model/);
  });

  it('stops on a missing models folder or one without bundles', async () => {
    await rejects(join(tmp.dir, 'absent'), /absent: is not a readable models directory \(VIGIA_MODELS_DIR\)/);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    await rejects(empty, /empty: holds no model bundle/);
  });

  it('names the manifest file, the field and the value when the input name is wrong', async () => {
    await rejects(bundle((m) => { m.model.input = 'X'; }), /tensor-model\/vigia.json: field "model.input" is "X", but the model's inputs are \["float_input"\]/);
  });

  it('names the file when the manifest or the model is missing or broken', async () => {
    await rejects(bundle(() => {}, (d) => rmSync(join(d, 'vigia.json'))), /vigia.json: cannot be read/);
    await rejects(bundle(() => {}, (d) => writeFileSync(join(d, 'model.onnx'), 'garbage')), /model.onnx: is not a readable ONNX model/);
    await rejects(bundle(() => {}, (d) => rmSync(join(d, 'model.onnx'))), /model.onnx: cannot be read/);
  });

  it('checks the reference sample holds every feature and the label column', async () => {
    await rejects(bundle((m) => { m.label.column = 'target'; }), /reference.csv: header lacks the column\(s\) "target" named in vigia.json/);
    await rejects(bundle((m) => { m.reference.file = 'nope.csv'; }), /vigia.json: field "reference.file" names "nope.csv", which cannot be read/);
  });

  it('serves the first of two bundles declaring the same model and version and fails the second, naming the first', async () => {
    const models = bundle(() => {});
    cpSync(join(models, 'tensor-model'), join(models, 'tensor-twin'), { recursive: true });
    const reg = await loadModels(models, undefined);
    assert.equal(reg.get('tensor-model')!.dir, join(models, 'tensor-model'));
    const copy = reg.statuses().find((s) => s.dir === join(models, 'tensor-twin'))!;
    assert.equal(copy.state, 'failed');
    assert.match(copy.reason!, /version 0.1.0 of tensor-model is already ready \(from .*tensor-model\); unload it first/);
    await reg.close();
  });

  it('loads a monitor-only bundle without a model file, and names a reference lacking its score column', async () => {
    const registry = await loadModels(MONITOR_ONLY_MODELS, undefined);
    const m = registry.get('credit-default-observed')!;
    assert.equal(m.scorer, undefined);
    await registry.close();
    const models = bundle((j) => {
      delete j.model;
      j.reference.score_column = 'score';
    }, (dir) => rmSync(join(dir, 'model.onnx')));
    await rejects(models, /reference.csv: header lacks the column\(s\) "score" named in vigia.json/);
  });
});
