import { randomUUID } from 'node:crypto';

/**
 * The headers KServe's payload logger sends with one CloudEvent in binary mode (pkg/logger/
 * worker.go, via the CloudEvents Go SDK): the spec version, id, source, type and time, the
 * extensions inferenceservicename, namespace, component, endpoint and metadata, and the
 * Content-Type of the inference request (both halves carry the request's).
 */
export function kserveHeaders(half: 'request' | 'response', id: string, opts: { contentType?: string } = {}): Record<string, string> {
  return {
    'Ce-Specversion': '1.0',
    'Ce-Id': id,
    'Ce-Source': 'http://localhost:9081/',
    'Ce-Type': `org.kubeflow.serving.inference.${half}`,
    'Ce-Time': new Date().toISOString(),
    'Ce-Inferenceservicename': 'credit-default',
    'Ce-Namespace': 'risk',
    'Ce-Component': 'predictor',
    'Ce-Endpoint': 'default',
    'Ce-Metadata': '{}',
    ...(opts.contentType === '' ? {} : { 'Content-Type': opts.contentType ?? 'application/json' }),
  };
}

/** A KServe v1 request body: each instance an array in the model's feature order. */
export const v1Request = (rows: readonly Record<string, number>[]) => ({ instances: rows.map((r) => Object.values(r)) });
/** A KServe v1 response of a probabilistic classifier: [P(0), P(1)] per instance. */
export const v1Response = (scores: readonly number[]) => ({ predictions: scores.map((p) => [1 - p, p]) });
/** An Open Inference Protocol (v2) request: one [rows, features] FP64 tensor, row-major. */
export const v2Request = (rows: readonly Record<string, number>[]) => ({
  id: randomUUID(),
  inputs: [{ name: 'input-0', shape: [rows.length, Object.keys(rows[0]!).length], datatype: 'FP64', data: rows.flatMap((r) => Object.values(r)) }],
});
/** An Open Inference Protocol (v2) response with a label output and a [rows, 2] probability output. */
export const v2Response = (scores: readonly number[]) => ({
  model_name: 'credit-default',
  model_version: '1',
  outputs: [
    { name: 'label', shape: [scores.length], datatype: 'INT64', data: scores.map((p) => (p >= 0.5 ? 1 : 0)) },
    { name: 'probabilities', shape: [scores.length, 2], datatype: 'FP32', data: scores.flatMap((p) => [1 - p, p]) },
  ],
});
