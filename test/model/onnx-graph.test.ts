import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeGraph, unwrapZipMap } from '../../src/model/onnx-graph.js';
import { FIXTURE_MODELS, DEMO_MODELS } from '../helpers/app.js';

const zipmap = new Uint8Array(readFileSync(join(FIXTURE_MODELS, 'zipmap-model', 'model.onnx')));
const tensor = new Uint8Array(readFileSync(join(FIXTURE_MODELS, 'tensor-model', 'model.onnx')));

describe('describeGraph', () => {
  it('sees the skl2onnx layout: a tensor label and a sequence (ZipMap) probability output', () => {
    const g = describeGraph(zipmap);
    assert.deepEqual(g.inputs, ['float_input']);
    assert.deepEqual(g.outputs, [{ name: 'output_label', kind: 'tensor' }, { name: 'output_probability', kind: 'sequence' }]);
  });

  it('sees the plain-tensor layout of an export without ZipMap', () => {
    assert.deepEqual(describeGraph(tensor).outputs, [{ name: 'label', kind: 'tensor' }, { name: 'probabilities', kind: 'tensor' }]);
  });

  it('rejects bytes that are not an ONNX model', () => {
    assert.throws(() => describeGraph(new TextEncoder().encode('not a model at all')), /ProtoError|graph|wire type|malformed/);
  });
});

describe('unwrapZipMap', () => {
  it('replaces the ZipMap output by the float tensor that fed it, keeping the label output in place', () => {
    const { model, output } = unwrapZipMap(zipmap, 'output_probability');
    assert.equal(output, 'probabilities');
    assert.deepEqual(describeGraph(model).outputs, [{ name: 'output_label', kind: 'tensor' }, { name: 'probabilities', kind: 'tensor' }]);
    assert.ok(model.length < zipmap.length, 'the ZipMap node is gone');
  });

  it('unwraps the demo model, a 150-tree ensemble', () => {
    const demo = new Uint8Array(readFileSync(join(DEMO_MODELS, 'credit-default', 'model.onnx')));
    const { model } = unwrapZipMap(demo, 'output_probability');
    assert.equal(describeGraph(model).outputs[1]!.kind, 'tensor');
  });

  it('refuses an output that no ZipMap produces', () => {
    assert.throws(() => unwrapZipMap(tensor, 'probabilities'), /produced by a TreeEnsembleClassifier node, not a ZipMap/);
    assert.throws(() => unwrapZipMap(tensor, 'nope'), /no node produces the output "nope"/);
  });
});
