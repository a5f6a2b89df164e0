import express, { type Request, type Router } from 'express';
import { HttpError, quote } from '../errors.js';
import type { ModelRegistry, ModelVersion } from '../model/registry.js';
import type { ShadowScorer } from '../predict/shadow.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { bearerGuard } from './bearer-token.js';
import { jsonBody } from './json-body.js';

export interface AdminDeps {
  readonly registry: ModelRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** VIGIA_ADMIN_TOKEN (or the file's content); undefined closes the admin API. */
  readonly token: string | undefined;
  readonly shadow?: ShadowScorer;
}

export type AdminAction = 'load' | 'promote' | 'rollback' | 'canary' | 'shadow' | 'unload';

/** The admin API's path prefix; every route under it needs the bearer token. */
export const ADMIN_PREFIX = '/v1/admin';

const param = (req: Request, name: string): string => String(req.params[name]);

/**
 * The rollout of a loaded model version, with its state and reason: the answer of every admin
 * action, so a caller sees what it changed.
 */
function statusOf(registry: ModelRegistry, v: ModelVersion) {
  return registry.statuses().find((s) => s.model === v.name && s.version === v.version);
}

function bodyObject(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'invalid_body', `the body must be a JSON object, got ${quote(b)}`);
  return b as Record<string, unknown>;
}

/**
 * `/v1/admin/...`: load, promote, roll back, canary, shadow and unload model versions, live.
 * Every route needs `Authorization: Bearer <VIGIA_ADMIN_TOKEN>`; without it nothing changes.
 */
export function adminRoutes(deps: AdminDeps): Router {
  const { registry, metrics, logger } = deps;
  const router = express.Router();
  router.use(ADMIN_PREFIX, bearerGuard({
    token: deps.token, what: 'the admin API', setting: 'VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE',
    onRefused: () => metrics.adminActions.inc({ action: 'any', outcome: 'unauthorized' }),
  }));
  router.use(ADMIN_PREFIX, jsonBody(64 * 1024));

  /** Runs an action, counts and logs its outcome. */
  const act = async <T>(action: AdminAction, what: Record<string, unknown>, run: () => Promise<T> | T): Promise<T> => {
    try {
      const out = await run();
      metrics.adminActions.inc({ action, outcome: 'ok' });
      logger.info(`admin ${action}`, what);
      return out;
    } catch (err) {
      metrics.adminActions.inc({ action, outcome: err instanceof HttpError && err.status < 500 ? 'refused' : 'failed' });
      logger.warn(`admin ${action} refused`, { ...what, error: (err as Error).message });
      throw err;
    }
  };

  router.get(`${ADMIN_PREFIX}/models`, (_req, res) => {
    res.json({ default_model: registry.defaultModel, versions: registry.statuses() });
  });

  router.post(`${ADMIN_PREFIX}/models/:model/versions/:version/load`, async (req, res) => {
    const model = param(req, 'model');
    const version = param(req, 'version');
    const v = await act('load', { model, version }, async () => {
      const loaded = await registry.loadVersion(model, version);
      if (loaded.state !== 'ready') throw new HttpError(422, 'load_failed', `version ${version} of ${model} failed to load and is not served (the running versions keep serving): ${loaded.reason}`, 'version');
      return loaded;
    });
    res.json(statusOf(registry, v));
  });

  router.post(`${ADMIN_PREFIX}/models/:model/versions/:version/promote`, async (req, res) => {
    const model = param(req, 'model');
    const version = param(req, 'version');
    await act('promote', { model, version }, () => registry.promote(model, version));
    res.json({ versions: registry.statuses().filter((s) => s.model === model) });
  });

  router.post(`${ADMIN_PREFIX}/models/:model/rollback`, async (req, res) => {
    const model = param(req, 'model');
    await act('rollback', { model }, () => registry.rollback(model));
    res.json({ versions: registry.statuses().filter((s) => s.model === model) });
  });

  router.post(`${ADMIN_PREFIX}/models/:model/canary`, async (req, res) => {
    const model = param(req, 'model');
    const body = bodyObject(req);
    const version = body['version'];
    const percent = body['percent'];
    if (typeof version !== 'string') throw new HttpError(400, 'invalid_body', `"version" must be the version to canary, got ${quote(version)}`, 'version');
    if (typeof percent !== 'number') throw new HttpError(400, 'invalid_percent', `"percent" must be a number from 0 to 100, got ${quote(percent)}`, 'percent');
    await act('canary', { model, version, percent }, () => registry.setCanary(model, version, percent));
    res.json({ versions: registry.statuses().filter((s) => s.model === model) });
  });

  router.post(`${ADMIN_PREFIX}/models/:model/shadow`, async (req, res) => {
    const model = param(req, 'model');
    const version = bodyObject(req)['version'];
    if (version !== null && typeof version !== 'string') throw new HttpError(400, 'invalid_body', `"version" must be the version to shadow, or null to stop, got ${quote(version)}`, 'version');
    await act('shadow', { model, version }, () => {
      registry.setShadow(model, version ?? undefined);
      if (version !== null) deps.shadow?.reset(model, version);
    });
    res.json({ versions: registry.statuses().filter((s) => s.model === model) });
  });

  router.post(`${ADMIN_PREFIX}/models/:model/versions/:version/unload`, async (req, res) => {
    const model = param(req, 'model');
    const version = param(req, 'version');
    await act('unload', { model, version }, () => registry.unload(model, version));
    res.json({ versions: registry.statuses().filter((s) => s.model === model) });
  });

  return router;
}
