import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { HttpError, InputError, quote } from '../errors.js';
import type { LoadedModel } from '../model/bundle.js';
import type { Manifest } from '../model/manifest.js';
import { discoverBundles } from '../model/layout.js';
import type { ModelRegistry, VersionState } from '../model/registry.js';
import { monitorOnly, type PredictionService } from '../predict/service.js';
import type { ShadowScorer } from '../predict/shadow.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { contextFromHeaders } from '../telemetry/tracing.js';
import { VERSION } from '../version.js';
import type { AuthCheck } from './auth.js';
import { bearerGuard } from './bearer-token.js';
import { errorResponse } from './errors.js';
import { jsonBody } from './json-body.js';
import type { ReadinessCheck } from './health.js';
import { requestIdOf } from './instrument.js';
import { CALLER_ID_HEADER, unservedModel } from './predict.js';

export interface InferenceProtocolDeps {
  readonly registry: ModelRegistry;
  readonly service: PredictionService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  readonly shadow?: ShadowScorer;
  readonly adminToken: string | undefined;
  /** The bearer-token check of VIGIA_PREDICT_TOKEN for `infer`, when set. */
  readonly auth?: AuthCheck;
}

/** The output tensors of `infer`: the positive-class probability, the decision, and the audit log's id of each row. */
export const OUTPUTS = [
  { name: 'probability', datatype: 'FP64' },
  { name: 'decision', datatype: 'INT64' },
  { name: 'prediction_id', datatype: 'BYTES' },
] as const;

/** The model-repository states of Triton's extension. */
const REPOSITORY_STATE: Readonly<Record<VersionState, string>> = { loading: 'LOADING', ready: 'READY', failed: 'UNAVAILABLE', unloaded: 'UNAVAILABLE' };

/** The protocol's error object is `{"error": "<message>"}` (not Vigia's `{error: {code, message}}`): its clients parse that. */
const protocolErrors = (metrics: Metrics, logger: Logger): ErrorRequestHandler => (err, req, res, _next) => {
  const { status, body, rejected } = errorResponse(err, logger, `${req.method} ${req.path}`);
  if (rejected !== undefined) metrics.rejectedInputs.inc({ model: (res.locals['model'] as string | undefined) ?? '', reason: rejected });
  if (res.headersSent) return;
  res.status(status).json({ error: body.error.message });
};

/** The input tensor's name: the ONNX model's input (a monitor-only bundle has none; it cannot be inferred anyway). */
const inputNameOf = (manifest: Manifest): string => manifest.model?.input ?? 'input';

function tensorMetadata(m: LoadedModel) {
  return {
    inputs: [{ name: inputNameOf(m.manifest), datatype: 'FP32', shape: [-1, m.manifest.features.length] }],
    outputs: OUTPUTS.map((o) => ({ name: o.name, datatype: o.datatype, shape: [-1] })),
  };
}

/** Flattens the `data` of an [N, F] tensor (nested or already flat) to N·F values. */
function flatData(data: unknown, n: number, f: number, field: string): unknown[] {
  if (!Array.isArray(data)) throw new InputError('invalid_body', field, `${field} must be an array of ${n * f} numbers, got ${quote(data)}`);
  const flat = data.some(Array.isArray) ? (data as unknown[]).flat(1) : data;
  if (flat.length !== n * f || flat.some(Array.isArray)) {
    throw new InputError('invalid_body', field, `${field} holds ${flat.length} values, but the shape [${n}, ${f}] needs ${n * f} (row-major)`);
  }
  return flat;
}

/**
 * An infer request's rows as feature objects (the model's feature order), so that they are
 * validated, scored and logged exactly as `/predict` rows are. One FP32 input of shape
 * [N, F] named as the model's input; `null` is a missing value.
 */
export function readInferRequest(body: unknown, model: LoadedModel, maxBatch: number): { id: string | undefined; instances: Record<string, unknown>[]; outputs: string[] } {
  const { manifest } = model;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('invalid_body', undefined, `the body must be an inference request object, got ${quote(body)}`);
  const b = body as Record<string, unknown>;
  const id = b['id'];
  if (id !== undefined && typeof id !== 'string') throw new InputError('invalid_body', 'id', `"id" must be a string, got ${quote(id)}`);
  const inputs = b['inputs'];
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new InputError('invalid_body', 'inputs', `"inputs" must hold exactly one tensor, ${JSON.stringify(inputNameOf(manifest))} of shape [N, ${manifest.features.length}], got ${quote(inputs)}`);
  }
  const input = inputs[0] as Record<string, unknown>;
  if (input?.['name'] !== inputNameOf(manifest)) throw new InputError('invalid_body', 'inputs[0].name', `the input must be named ${JSON.stringify(inputNameOf(manifest))} (the model's input), got ${quote(input?.['name'])}`);
  if (input['datatype'] !== 'FP32') throw new InputError('wrong_type', 'inputs[0].datatype', `the input datatype must be "FP32", got ${quote(input['datatype'])}`);
  const shape = input['shape'];
  const f = manifest.features.length;
  if (!Array.isArray(shape) || shape.length !== 2 || !Number.isSafeInteger(shape[0]) || shape[1] !== f || (shape[0] as number) < 1) {
    throw new InputError('invalid_body', 'inputs[0].shape', `the input shape must be [N, ${f}] with N ≥ 1, got ${quote(shape)}`);
  }
  const n = shape[0] as number;
  if (n > maxBatch) throw new InputError('batch_too_large', 'inputs[0].shape', `the input holds ${n} rows, more than the limit of ${maxBatch} (VIGIA_MAX_BATCH)`);
  const flat = flatData(input['data'], n, f, 'inputs[0].data');
  const instances: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (let j = 0; j < f; j++) row[manifest.features[j]!.name] = flat[i * f + j];
    instances.push(row);
  }
  const asked = b['outputs'];
  let outputs: string[] = OUTPUTS.map((o) => o.name);
  if (asked !== undefined) {
    if (!Array.isArray(asked)) throw new InputError('invalid_body', 'outputs', `"outputs" must be an array of {"name": ...}, got ${quote(asked)}`);
    outputs = asked.map((o: unknown, i) => {
      const name = (o as { name?: unknown })?.name;
      if (typeof name !== 'string' || !OUTPUTS.some((x) => x.name === name)) {
        throw new InputError('invalid_body', `outputs[${i}].name`, `unknown output ${quote(name)}; outputs: ${OUTPUTS.map((x) => x.name).join(', ')}`);
      }
      return name;
    });
  }
  return { id, instances, outputs };
}

/**
 * The Open Inference Protocol (KServe v2 REST) beside Vigia's own routes: health (by status
 * code, empty body), server and model metadata, `infer` (validated, scored, logged and
 * counted as `/predict` is), and the model-repository extension (index, load, unload) on the
 * registry's live load and unload, behind the admin token.
 */
export function inferenceProtocolRoutes(deps: InferenceProtocolDeps): Router {
  const { registry, metrics, logger } = deps;
  const router = express.Router();
  const json = jsonBody(deps.bodyLimitBytes);
  const empty = (res: Response, ok: boolean, failStatus = 400) => res.status(ok ? 200 : failStatus).end();

  router.get('/v2/health/live', (_req, res) => empty(res, true));
  router.get('/v2/health/ready', (_req, res) => {
    let ready = true;
    for (const check of Object.values(deps.readiness)) {
      try {
        if (check() !== undefined) ready = false;
      } catch {
        ready = false;
      }
    }
    empty(res, ready && registry.defaultReady);
  });
  router.get('/v2', (_req, res) => {
    res.json({ name: 'vigia', version: VERSION, extensions: ['model_repository'] });
  });

  const modelOf = (req: Request): { name: string; version: string | undefined; model: LoadedModel } => {
    const params = req.params as Record<string, string | undefined>;
    const name = String(params['model']);
    const version = params['version'];
    const model = version === undefined ? registry.get(name) : registry.version(name, version);
    if (model === undefined) {
      if (version === undefined) throw unservedModel(registry, name);
      throw new HttpError(404, 'unknown_version', `model ${quote(name)} has no ready version ${quote(version)}`, 'version');
    }
    return { name, version, model };
  };

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    router.get(`${base}/ready`, (req, res) => {
      const params = req.params as Record<string, string | undefined>;
      const name = String(params['model']);
      const version = params['version'];
      empty(res, (version === undefined ? registry.get(name) : registry.version(name, version)) !== undefined);
    });
    router.get(base, (req, res) => {
      const { name, model } = modelOf(req);
      const versions = registry.statuses().filter((s) => s.model === name && s.state === 'ready').map((s) => s.version);
      res.json({ name, versions, platform: 'onnxruntime_onnx', ...tensorMetadata(model) });
    });
    router.post(`${base}/infer`, json, async (req, res) => {
      const receivedAt = process.hrtime.bigint();
      deps.auth?.(req.headers);
      const params = req.params as Record<string, string | undefined>;
      const name = String(params['model']);
      const version = params['version'];
      const caller = req.headers[CALLER_ID_HEADER];
      const pick = registry.pick(name, typeof caller === 'string' && caller !== '' ? caller : undefined, version);
      if (pick === undefined) {
        if (version === undefined) throw unservedModel(registry, name);
        throw new HttpError(404, 'unknown_version', `model ${quote(name)} has no ready version ${quote(version)}`, 'version');
      }
      res.locals['model'] = name;
      let handedOver = false;
      try {
        if (pick.model.scorer === undefined) throw monitorOnly(name);
        const { id, instances, outputs } = readInferRequest(req.body, pick.model, deps.maxBatch);
        const requestId = requestIdOf(req.headers);
        const predictions = await deps.service.predict({ model: pick.model, instances, shape: 'instances', requestId, receivedAt, parent: contextFromHeaders(req.headers) });
        const n = predictions.length;
        const tensors: Record<string, unknown[]> = {
          probability: predictions.map((p) => p.probability),
          decision: predictions.map((p) => p.decision),
          prediction_id: predictions.map((p) => p.prediction_id),
        };
        res.json({
          model_name: name,
          model_version: pick.model.manifest.version,
          id: id ?? (n === 1 ? predictions[0]!.prediction_id : requestId),
          parameters: { request_id: requestId, trace_id: predictions[0]!.trace_id },
          outputs: outputs.map((o) => ({ name: o, shape: [n], datatype: OUTPUTS.find((x) => x.name === o)!.datatype, data: tensors[o] })),
        });
        if (pick.shadow !== undefined && deps.shadow !== undefined) {
          deps.shadow.schedule({ shadow: pick.shadow, instances, answered: predictions, requestId, traceId: predictions[0]!.trace_id });
          handedOver = true;
        }
      } finally {
        registry.release(pick.served);
        if (pick.shadow !== undefined && !handedOver) registry.release(pick.shadow);
      }
    });
  }

  // Model repository extension (Triton): every version found in the models folder, loaded or not.
  router.post('/v2/repository/index', json, async (req, res) => {
    const readyOnly = (req.body as { ready?: unknown } | undefined)?.ready === true;
    const known = registry.statuses();
    const index = known.map((s) => ({ name: s.model, version: s.version, state: REPOSITORY_STATE[s.state], reason: s.reason ?? '' }));
    for (const b of await discoverBundles(registry.modelsDir).catch(() => [])) {
      if (!known.some((s) => s.dir === b.dir)) index.push({ name: b.folder, version: b.versionFolder ?? '', state: 'UNAVAILABLE', reason: 'not loaded' });
    }
    res.json(readyOnly ? index.filter((e) => e.state === 'READY') : index);
  });
  router.use('/v2/repository/models', bearerGuard({
    token: deps.adminToken, what: 'the model repository load and unload', setting: 'VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE',
    onRefused: () => metrics.adminActions.inc({ action: 'any', outcome: 'unauthorized' }),
  }));
  const versionParameter = (req: Request): string | undefined => {
    const v = (req.body as { parameters?: { version?: unknown } } | undefined)?.parameters?.version;
    if (v !== undefined && typeof v !== 'string') throw new HttpError(400, 'invalid_body', `parameters.version must be a string, got ${quote(v)}`, 'parameters.version');
    return v;
  };
  router.post('/v2/repository/models/:model/load', json, async (req, res) => {
    const name = String(req.params['model']);
    let versions: string[];
    const asked = versionParameter(req);
    if (asked !== undefined) versions = [asked];
    else {
      // Without a version: every version folder of the model not loaded yet.
      const loaded = new Set(registry.statuses().filter((s) => s.model === name && (s.state === 'ready' || s.state === 'loading')).map((s) => s.dir));
      versions = (await discoverBundles(registry.modelsDir)).filter((b) => b.folder === name && b.versionFolder !== undefined && !loaded.has(b.dir)).map((b) => b.versionFolder!);
      if (versions.length === 0) throw new HttpError(400, 'nothing_to_load', `model ${quote(name)} has no version folder left to load under ${registry.modelsDir}/${name}/ (give parameters.version to reload one)`);
    }
    for (const version of versions) {
      const v = await registry.loadVersion(name, version);
      metrics.adminActions.inc({ action: 'load', outcome: v.state === 'ready' ? 'ok' : 'failed' });
      if (v.state !== 'ready') throw new HttpError(400, 'load_failed', `version ${version} of ${name} failed to load: ${v.reason}`);
      logger.info('admin load', { model: name, version, via: 'v2/repository' });
    }
    res.status(200).end();
  });
  router.post('/v2/repository/models/:model/unload', json, async (req, res) => {
    const name = String(req.params['model']);
    const version = versionParameter(req);
    if (version === undefined) throw new HttpError(400, 'invalid_body', 'give parameters.version: the stable version keeps serving until another is promoted', 'parameters.version');
    await registry.unload(name, version);
    metrics.adminActions.inc({ action: 'unload', outcome: 'ok' });
    logger.info('admin unload', { model: name, version, via: 'v2/repository' });
    res.status(200).end();
  });
  router.use('/v2', protocolErrors(metrics, logger));
  return router;
}
