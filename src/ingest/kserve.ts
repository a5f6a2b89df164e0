// KServe's payload logger (pkg/logger in kserve/kserve) sends each inference request and
// response as a CloudEvent in binary mode: the body is the payload as the model server got
// or answered it, and the attributes are headers: ce-specversion 1.0, ce-id (the request's
// Ce-Id header or a new UUID, the same for both halves), ce-type
// org.kubeflow.serving.inference.request / .response, ce-source, ce-time, and the extensions
// ce-inferenceservicename, ce-namespace, ce-component, ce-endpoint, ce-metadata. Its
// Content-Type is the inference request's (possibly none), so the body is read as JSON
// whatever it says.
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError, InputError, quote } from '../errors.js';
import type { FeatureSpec, ServingSpec } from '../model/manifest.js';

export const REQUEST_TYPE = 'org.kubeflow.serving.inference.request';
export const RESPONSE_TYPE = 'org.kubeflow.serving.inference.response';

/** The attributes of one CloudEvent that Vigia uses. */
export interface InferenceEvent {
  readonly id: string;
  readonly half: 'request' | 'response';
  readonly source: string;
  /** ce-inferenceservicename, ce-namespace, ce-component, ce-endpoint: informational. */
  readonly inferenceService: string | undefined;
}

const MAX_ID_LENGTH = 256;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and checks the binary-mode CloudEvent attributes; a 4xx names the header and its value. */
export function readInferenceEvent(headers: IncomingHttpHeaders): InferenceEvent {
  const type = header(headers, 'content-type') ?? '';
  if (/^\s*application\/cloudevents(-batch)?\+json/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', `structured and batched CloudEvents (Content-Type ${quote(type)}) are not accepted; send binary mode, as KServe's logger does`, 'content-type');
  }
  const bad = (field: string, message: string): never => {
    throw new InputError('invalid_cloudevent', field, message);
  };
  const spec = header(headers, 'ce-specversion');
  if (spec !== '1.0') bad('ce-specversion', `ce-specversion must be "1.0" (a binary-mode CloudEvent), got ${quote(spec ?? null)}`);
  const id = header(headers, 'ce-id');
  if (id === undefined || id.trim() === '' || id.length > MAX_ID_LENGTH) bad('ce-id', `ce-id must be a non-empty id of at most ${MAX_ID_LENGTH} characters, got ${quote(id ?? null)}`);
  const source = header(headers, 'ce-source');
  if (source === undefined || source.trim() === '') bad('ce-source', `ce-source must be a non-empty URI reference, got ${quote(source ?? null)}`);
  const ceType = header(headers, 'ce-type');
  if (ceType !== REQUEST_TYPE && ceType !== RESPONSE_TYPE) bad('ce-type', `ce-type must be ${REQUEST_TYPE} or ${RESPONSE_TYPE}, got ${quote(ceType ?? null)}`);
  return { id: id!, half: ceType === REQUEST_TYPE ? 'request' : 'response', source: source!, inferenceService: header(headers, 'ce-inferenceservicename') };
}

/** A tensor of the Open Inference Protocol (KServe v2): name, shape, datatype, data (flat or nested). */
interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[];
}

function readTensors(value: unknown, field: string): Tensor[] {
  if (!Array.isArray(value) || value.length === 0) throw new InputError('invalid_cloudevent', field, `${field} must be a non-empty array of tensors, got ${quote(value)}`);
  return value.map((t, i) => {
    const at = `${field}[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new InputError('invalid_cloudevent', at, `${at} must be a tensor object {name, shape, datatype, data}, got ${quote(t)}`);
    const { name, shape, data } = t as Record<string, unknown>;
    if (typeof name !== 'string') throw new InputError('invalid_cloudevent', `${at}.name`, `${at}.name must be a string, got ${quote(name)}`);
    if (!Array.isArray(shape) || shape.length === 0 || shape.length > 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InputError('invalid_cloudevent', `${at}.shape`, `${at}.shape must be [rows] or [rows, columns], got ${quote(shape)}`);
    }
    if (!Array.isArray(data)) throw new InputError('invalid_cloudevent', `${at}.data`, `${at}.data must be an array, got ${quote(data)}`);
    const flat = (data as unknown[]).flat(2);
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (flat.length !== size) throw new InputError('invalid_cloudevent', `${at}.data`, `${at}.data holds ${flat.length} values, but its shape ${quote(shape)} needs ${size}`);
    return { name, shape: shape as number[], data: flat };
  });
}

const bodyObject = (body: unknown, what: string): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('invalid_cloudevent', undefined, `the ${what} body must be a JSON object (KServe v1 or v2), got ${quote(body)}`);
  return body as Record<string, unknown>;
};

/**
 * The feature objects of an inference request: v1 `instances` (each an array in manifest
 * feature order, or an object by feature name) or v2 `inputs` (one [rows, features] tensor
 * in manifest order, or one [rows] tensor per feature, by name). The objects still go
 * through the model's input validation.
 */
export function requestInstances(body: unknown, features: readonly FeatureSpec[]): unknown[] {
  const b = bodyObject(body, 'request');
  const names = features.map((f) => f.name);
  const byPosition = (row: readonly unknown[], field: string): Record<string, unknown> => {
    if (row.length !== names.length) throw new InputError('invalid_cloudevent', field, `${field} holds ${row.length} values, but the model has ${names.length} features (${names.join(', ')}), taken by position`);
    return Object.fromEntries(names.map((n, j) => [n, row[j]]));
  };
  if (Array.isArray(b['instances'])) {
    return (b['instances'] as unknown[]).map((inst, i) => (Array.isArray(inst) ? byPosition(inst, `instances[${i}]`) : inst));
  }
  if (b['inputs'] === undefined) throw new InputError('invalid_cloudevent', undefined, 'the request body holds neither "instances" (KServe v1) nor "inputs" (KServe v2)');
  const tensors = readTensors(b['inputs'], 'inputs');
  if (tensors.length === 1 && tensors[0]!.shape.length === 2 && !names.includes(tensors[0]!.name)) {
    const [rows, width] = tensors[0]!.shape as [number, number];
    const data = tensors[0]!.data;
    return Array.from({ length: rows }, (_, i) => byPosition(data.slice(i * width, (i + 1) * width), `inputs[0] row ${i}`));
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const t of tensors) {
    if (!names.includes(t.name)) throw new InputError('invalid_cloudevent', `inputs.${t.name}`, `input tensor ${quote(t.name)} is not a feature of this model; send one [rows, ${names.length}] tensor in feature order, or one [rows] tensor per feature`);
    if (t.shape.length === 2 && t.shape[1] !== 1) throw new InputError('invalid_cloudevent', `inputs.${t.name}.shape`, `input tensor ${quote(t.name)} has shape ${quote(t.shape)}; a per-feature tensor is [rows] or [rows, 1]`);
  }
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) throw new InputError('invalid_cloudevent', `inputs.${missing[0]}`, `the request has no input tensor for the feature(s) ${missing.join(', ')}`);
  const rows = tensors[0]!.shape[0]!;
  for (const t of tensors) {
    if (t.shape[0] !== rows) throw new InputError('invalid_cloudevent', `inputs.${t.name}.shape`, `input tensor ${quote(t.name)} has ${t.shape[0]} rows, but ${quote(tensors[0]!.name)} has ${rows}`);
  }
  return Array.from({ length: rows }, (_, i) => Object.fromEntries(names.map((n) => [n, byName.get(n)!.data[i]])));
}

function probability(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InputError('invalid_cloudevent', field, `${field} must be a probability from 0 to 1, got ${quote(value)}; serving.output and serving.column of the bundle name where the score is`);
  }
  return value;
}

/**
 * The scores of an inference response, as the bundle's `serving` says: v1 `predictions`
 * (each a number, a row of class probabilities read at `column`, or an object read at the
 * key `output`), or v2 `outputs` (the tensor named `output`, or the only one; [rows] or
 * [rows, classes] read at `column`).
 */
export function responseScores(body: unknown, serving: ServingSpec): number[] {
  const b = bodyObject(body, 'response');
  const pick = (value: unknown, field: string): number => {
    if (Array.isArray(value)) {
      if (serving.column >= value.length) throw new InputError('invalid_cloudevent', field, `${field} holds ${value.length} values; serving.column ${serving.column} is past its end`);
      return probability(value[serving.column], `${field}[${serving.column}]`);
    }
    return probability(value, field);
  };
  if (Array.isArray(b['predictions'])) {
    return (b['predictions'] as unknown[]).map((p, i) => {
      const at = `predictions[${i}]`;
      if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
        if (serving.output === undefined) throw new InputError('invalid_cloudevent', at, `${at} is an object; set serving.output in the bundle to the key holding the score`);
        return pick((p as Record<string, unknown>)[serving.output], `${at}.${serving.output}`);
      }
      return pick(p, at);
    });
  }
  if (b['outputs'] === undefined) throw new InputError('invalid_cloudevent', undefined, 'the response body holds neither "predictions" (KServe v1) nor "outputs" (KServe v2)');
  const tensors = readTensors(b['outputs'], 'outputs');
  const index = serving.output === undefined ? (tensors.length === 1 ? 0 : -1) : tensors.findIndex((t) => t.name === serving.output);
  if (index === -1) {
    throw new InputError('invalid_cloudevent', 'outputs', `the response has the outputs ${quote(tensors.map((t) => t.name))}; ${serving.output === undefined ? 'set serving.output in the bundle to the one holding the score' : `none is ${quote(serving.output)} (serving.output)`}`);
  }
  const t = tensors[index]!;
  const at = `outputs[${index}]`;
  const rows = t.shape[0]!;
  const width = t.shape[1] ?? 1;
  if (width === 1) return Array.from({ length: rows }, (_, i) => probability(t.data[i], `${at}.data[${i}]`));
  if (serving.column >= width) throw new InputError('invalid_cloudevent', `${at}.shape`, `${at} has ${width} columns; serving.column ${serving.column} is past its end`);
  return Array.from({ length: rows }, (_, i) => probability(t.data[i * width + serving.column], `${at}.data[${i * width + serving.column}]`));
}
