import express, { type Request, type RequestHandler, type Router } from 'express';
import { HttpError, InputError, quote } from '../errors.js';
import type { LoadedModel } from '../model/bundle.js';
import type { ModelRegistry } from '../model/registry.js';
import type { PredictionService } from '../predict/service.js';
import { contextFromHeaders } from '../telemetry/tracing.js';

export interface PredictRoutesDeps {
  readonly registry: ModelRegistry;
  readonly service: PredictionService;
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
}

/** The instances of a predict body: `{ features: {...} }` or `{ instances: [{...}, ...] }`. */
export function readPredictBody(body: unknown, maxBatch: number): { instances: unknown[]; shape: 'features' | 'instances' } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('invalid_body', undefined, `the body must be a JSON object with "features" or "instances", got ${quote(body)}`);
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'features' && key !== 'instances') {
      throw new InputError('invalid_body', key, `unknown field ${JSON.stringify(key)} in the body; expected "features" (one prediction) or "instances" (a batch)`);
    }
  }
  const hasFeatures = Object.hasOwn(b, 'features');
  const hasInstances = Object.hasOwn(b, 'instances');
  if (hasFeatures && hasInstances) {
    throw new InputError('invalid_body', 'instances', 'give either "features" (one prediction) or "instances" (a batch), not both');
  }
  if (hasFeatures) return { instances: [b['features']], shape: 'features' };
  if (!hasInstances) {
    throw new InputError('invalid_body', undefined, 'the body must hold "features" (one prediction) or "instances" (a batch)');
  }
  const instances = b['instances'];
  if (!Array.isArray(instances)) {
    throw new InputError('invalid_body', 'instances', `"instances" must be an array of feature objects, got ${quote(instances)}`);
  }
  if (instances.length === 0) throw new InputError('empty_batch', 'instances', '"instances" is empty; send at least one');
  if (instances.length > maxBatch) {
    throw new InputError('batch_too_large', 'instances', `"instances" holds ${instances.length} rows, more than the limit of ${maxBatch} (VIGIA_MAX_BATCH)`);
  }
  return { instances, shape: 'instances' };
}

/** `POST /v1/models/:model/predict` and `POST /predict` (the default model). */
export function predictRoutes(deps: PredictRoutesDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: deps.bodyLimitBytes, strict: false });
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) {
      next(new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${quote(req.headers['content-type'] ?? 'none')}`));
      return;
    }
    next();
  };

  const handle = (pick: (req: Request) => LoadedModel): RequestHandler => async (req, res) => {
    const model = pick(req);
    res.locals['model'] = model.manifest.name;
    const { instances, shape } = readPredictBody(req.body, deps.maxBatch);
    const predictions = await deps.service.predict({
      model,
      instances,
      shape,
      requestId: res.locals['requestId'] as string,
      receivedAt: res.locals['receivedAt'] as bigint,
      parent: contextFromHeaders(req.headers),
    });
    res.json(shape === 'features' ? predictions[0] : { predictions });
  };

  // Resolve the model before the body is parsed, so an unknown model is a 404 and every
  // rejected body is counted against a known model.
  const named: RequestHandler = (req, res, next) => {
    const name = req.params['model'] as string;
    const model = deps.registry.get(name);
    if (model === undefined) {
      const known = deps.registry.list().map((m) => m.manifest.name);
      next(new HttpError(404, 'unknown_model', `no model named ${quote(name)}; loaded: ${known.join(', ')}`, 'model'));
      return;
    }
    res.locals['model'] = name;
    next();
  };
  const defaultModel: RequestHandler = (_req, res, next) => {
    res.locals['model'] = deps.registry.defaultModel;
    next();
  };

  router.post('/v1/models/:model/predict', named, requireJson, json, handle((req) => deps.registry.get(req.params['model'] as string)!));
  router.post('/predict', defaultModel, requireJson, json, handle(() => deps.registry.get(deps.registry.defaultModel)!));
  return router;
}
