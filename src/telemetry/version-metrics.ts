import { VERSION_STATES, type ModelRegistry, type VersionRole } from '../model/registry.js';
import type { Metrics } from './metrics.js';

const ROLES: readonly VersionRole[] = ['stable', 'previous', 'canary', 'shadow', 'none'];

/**
 * Publishes every version's state and role (one-hot gauges), the canary share and load
 * times, and `vigia_model_info` for the ready versions. Called on each registry change
 * (start, admin actions), never on the request path.
 */
export function publishVersions(metrics: Metrics, registry: ModelRegistry): void {
  metrics.modelInfo.reset();
  metrics.modelVersionRole.reset();
  metrics.canaryPercent.reset();
  for (const s of registry.statuses()) {
    const labels = { model: s.model, version: s.version };
    for (const state of VERSION_STATES) metrics.modelVersionState.set({ ...labels, state }, state === s.state ? 1 : 0);
    if (s.load_seconds !== undefined) metrics.modelLoadDuration.set(labels, s.load_seconds);
    if (s.state !== 'ready') continue;
    for (const role of ROLES) metrics.modelVersionRole.set({ ...labels, role }, role === s.role ? 1 : 0);
    metrics.canaryPercent.set(labels, s.canary_percent ?? 0);
    const m = registry.version(s.model, s.version)!;
    metrics.modelInfo.set(
      { ...labels, features: String(m.manifest.features.length), threshold: String(m.manifest.threshold), default: String(s.model === registry.defaultModel && s.role === 'stable') },
      1,
    );
  }
}
