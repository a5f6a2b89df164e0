import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError, InputError } from '../../src/errors.js';
import { readInferenceEvent, requestInstances, responseScores } from '../../src/ingest/kserve.js';
import type { FeatureSpec } from '../../src/model/manifest.js';

const feature = (name: string): FeatureSpec => ({ name, kind: 'numeric', monitor: true, importance: undefined, nullable: true, categories: undefined, description: undefined });
const FEATURES = [feature('amount'), feature('age')];
const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
const fieldOf = (field: string | undefined) => (err: unknown) => err instanceof InputError && err.field === field;

describe('readInferenceEvent', () => {
  const headers = { 'ce-specversion': '1.0', 'ce-id': 'abc', 'ce-source': 'http://localhost:9081/', 'ce-type': 'org.kubeflow.serving.inference.response', 'ce-inferenceservicename': 'fraud' };

  it('reads the id, the half and the InferenceService of a binary-mode KServe event', () => {
    assert.deepEqual(readInferenceEvent(headers), { id: 'abc', half: 'response', source: 'http://localhost:9081/', inferenceService: 'fraud' });
    assert.equal(readInferenceEvent(lower({ ...headers, 'ce-type': 'org.kubeflow.serving.inference.request' })).half, 'request');
  });

  it('refuses a missing source and structured mode', () => {
    const { 'ce-source': _, ...noSource } = headers;
    assert.throws(() => readInferenceEvent(noSource), fieldOf('ce-source'));
    assert.throws(() => readInferenceEvent({ ...headers, 'content-type': 'application/cloudevents+json; charset=utf-8' }), (err: unknown) => err instanceof HttpError && err.status === 415);
  });
});

describe('requestInstances', () => {
  it('maps v1 arrays by position and passes v1 objects through', () => {
    assert.deepEqual(requestInstances({ instances: [[1, 2], { amount: 3, age: 4 }] }, FEATURES), [{ amount: 1, age: 2 }, { amount: 3, age: 4 }]);
  });

  it('maps one v2 [rows, features] tensor by position, flat or nested', () => {
    const flat = { inputs: [{ name: 'input-0', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }] };
    const nested = { inputs: [{ name: 'input-0', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4]] }] };
    const want = [{ amount: 1, age: 2 }, { amount: 3, age: 4 }];
    assert.deepEqual(requestInstances(flat, FEATURES), want);
    assert.deepEqual(requestInstances(nested, FEATURES), want);
  });

  it('maps v2 tensors named after the features by name, in any order', () => {
    const body = { inputs: [{ name: 'age', shape: [2], datatype: 'FP64', data: [30, 40] }, { name: 'amount', shape: [2, 1], datatype: 'FP64', data: [[10], [20]] }] };
    assert.deepEqual(requestInstances(body, FEATURES), [{ amount: 10, age: 30 }, { amount: 20, age: 40 }]);
  });

  it('names what is wrong: a shape that does not hold its data, a missing feature tensor, a tensor of no feature', () => {
    assert.throws(() => requestInstances({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }] }, FEATURES), (e: unknown) => fieldOf('inputs[0].data')(e) && /holds 3 values, but its shape \[2,2\] needs 4/.test((e as Error).message));
    assert.throws(() => requestInstances({ inputs: [{ name: 'age', shape: [1], datatype: 'FP32', data: [1] }] }, FEATURES), fieldOf('inputs.amount'));
    assert.throws(() => requestInstances({ inputs: [{ name: 'age', shape: [1], data: [1] }, { name: 'amount', shape: [1], data: [1] }, { name: 'zip', shape: [1], data: [1] }] }, FEATURES), fieldOf('inputs.zip'));
  });
});

describe('responseScores', () => {
  it('reads v1 predictions as bare scores, rows of class probabilities at the column, or objects at the output key', () => {
    assert.deepEqual(responseScores({ predictions: [0.1, 0.2] }, { output: undefined, column: 1 }), [0.1, 0.2]);
    assert.deepEqual(responseScores({ predictions: [[0.9, 0.1], [0.2, 0.8]] }, { output: undefined, column: 1 }), [0.1, 0.8]);
    assert.deepEqual(responseScores({ predictions: [{ label: 0, proba: [0.7, 0.3] }] }, { output: 'proba', column: 1 }), [0.3]);
  });

  it('reads the v2 output named by the bundle, or the only one, as [rows] or [rows, classes]', () => {
    const outputs = [{ name: 'label', shape: [2], datatype: 'INT64', data: [0, 1] }, { name: 'probabilities', shape: [2, 2], datatype: 'FP32', data: [0.75, 0.25, 0.5, 0.5] }];
    assert.deepEqual(responseScores({ outputs }, { output: 'probabilities', column: 1 }), [0.25, 0.5]);
    assert.deepEqual(responseScores({ outputs: [{ name: 'score', shape: [2, 1], datatype: 'FP32', data: [0.25, 0.5] }] }, { output: undefined, column: 1 }), [0.25, 0.5]);
    assert.throws(() => responseScores({ outputs }, { output: undefined, column: 1 }), (e: unknown) => /set serving.output in the bundle/.test((e as Error).message));
  });

  it('refuses a score that is not a probability, naming where it is', () => {
    assert.throws(() => responseScores({ predictions: [0.5, 2] }, { output: undefined, column: 1 }), fieldOf('predictions[1]'));
    assert.throws(() => responseScores({ predictions: [[0.5]] }, { output: undefined, column: 1 }), fieldOf('predictions[0]'));
  });
});
