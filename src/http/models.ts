import express, { type Router } from 'express';
import type { LoadedModel } from '../model/bundle.js';
import type { ModelRegistry } from '../model/registry.js';

/** A model as `GET /v1/models` describes it. */
export function describeModel(m: LoadedModel, isDefault: boolean) {
  const { manifest } = m;
  return {
    name: manifest.name,
    version: manifest.version,
    default: isDefault,
    /** No model file: its predictions are made elsewhere and ingested (POST .../observations). */
    monitor_only: m.scorer === undefined,
    description: manifest.description,
    features: manifest.features.map((f) => ({
      name: f.name,
      kind: f.kind,
      monitored: f.monitor,
      nullable: f.nullable,
      ...(f.categories === undefined ? {} : { categories: f.categories }),
      ...(f.importance === undefined ? {} : { importance: f.importance }),
      ...(f.description === undefined ? {} : { description: f.description }),
    })),
    threshold: manifest.threshold,
    bands: manifest.bands.map((b) => ({ name: b.name, min_probability: b.minProbability, action: b.action, channel: b.channel })),
    label: { column: manifest.labelColumn, delay_days: manifest.labelDelayDays, window_days: manifest.performanceWindowDays },
    costs: { false_negative: manifest.costs.falseNegative, false_positive: manifest.costs.falsePositive },
    thresholds: manifest.thresholds,
    training: manifest.training,
  };
}

/**
 * `GET /v1/models`: the stable version of each model with its features, threshold and bands,
 * and every version known (loading, ready, failed, unloaded) with its role and the reason of its state.
 */
export function modelRoutes(registry: ModelRegistry): Router {
  const router = express.Router();
  router.get('/v1/models', (_req, res) => {
    const versions = registry.statuses().map(({ dir: _dir, ...s }) => s);
    res.json({
      models: registry.list().map((m) => ({
        ...describeModel(m, m.manifest.name === registry.defaultModel),
        versions: versions.filter((v) => v.model === m.manifest.name),
      })),
      versions,
    });
  });
  return router;
}
