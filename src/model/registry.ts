import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError, HttpError, quote } from '../errors.js';
import { loadBundle, type LoadedModel } from './bundle.js';
import { stickyBucket, CANARY_BUCKETS } from './canary.js';
import { discoverBundles, locateBundle } from './layout.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';
import { checkParity, readParity } from './parity.js';

export type VersionState = 'loading' | 'ready' | 'failed' | 'unloaded';
export const VERSION_STATES: readonly VersionState[] = ['loading', 'ready', 'failed', 'unloaded'];
/** What a version does for its model: answers (stable), waits for a rollback (previous), takes a share (canary), scores copies (shadow). */
export type VersionRole = 'stable' | 'previous' | 'canary' | 'shadow' | 'none';

/**
 * One version of a model in the registry. `leases` counts the requests using its session;
 * an unloaded version's session is released when the last of them ends.
 */
export class ModelVersion {
  state: VersionState = 'loading';
  reason: string | undefined;
  model: LoadedModel | undefined;
  loadSeconds: number | undefined;
  leases = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly dir: string,
  ) {}

  /** Resolves when no request holds the version any more. */
  drain(): Promise<void> {
    if (this.leases === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  release(): void {
    this.leases--;
    if (this.leases === 0 && this.drained !== undefined) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }
}

/** The rollout of one model: which version answers, which waits for a rollback, canary and shadow. */
interface ModelRollout {
  readonly versions: Map<string, ModelVersion>;
  stable: ModelVersion | undefined;
  previous: ModelVersion | undefined;
  canary: { readonly version: ModelVersion; readonly buckets: number; readonly percent: number } | undefined;
  shadow: ModelVersion | undefined;
}

/** The versions chosen for one request: the one that answers, and the one scoring a copy, if any. Both are leased. */
export interface Pick {
  readonly served: ModelVersion;
  readonly model: LoadedModel;
  readonly shadow: ModelVersion | undefined;
}

/** A version as `GET /v1/models`, the status page and the admin API describe it. */
export interface VersionStatus {
  readonly model: string;
  readonly version: string;
  readonly state: VersionState;
  readonly role: VersionRole;
  readonly reason?: string;
  readonly canary_percent?: number;
  readonly load_seconds?: number;
  readonly dir: string;
}

/** What the composition root does around the registry's life: baselines, monitor, metrics. */
export interface RegistryHooks {
  /** Runs after a version's session and parity check, before it is ready (builds its baseline). Throwing fails the load. */
  prepare?(model: LoadedModel): Promise<void>;
  /** Called after any change of state or role. */
  changed?(registry: ModelRegistry): void;
  /** Called for each version that failed to load, with its reason. */
  loadFailed?(registry: ModelRegistry, model: string, version: string, reason: string): void;
}

export interface LoadOptions {
  /** A parity file is required (live loads); at start a bundle without one still loads. */
  readonly requireParity: boolean;
}

const compareVersions = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The models being served: every version of each, its state and its role. The request path
 * calls `pick` (a map lookup, plus a hash when a canary runs) and `release`; the admin
 * commands load, promote, roll back, set a canary or a shadow, and unload. Changes are
 * single assignments on the event loop, so a request sees either the old or the new
 * rollout, never half of one; a request keeps the version it picked until it ends.
 */
export class ModelRegistry {
  private readonly models = new Map<string, ModelRollout>();
  private closed = false;

  constructor(
    readonly modelsDir: string,
    private defaultName: string,
    private readonly hooks: RegistryHooks = {},
  ) {}

  /** The model behind `POST /predict`. */
  get defaultModel(): string {
    return this.defaultName;
  }

  /** The stable version of a model, if it has a ready one. */
  get(name: string): LoadedModel | undefined {
    return this.models.get(name)?.stable?.model;
  }

  /** The stable version of each model that has one. */
  list(): LoadedModel[] {
    const out: LoadedModel[] = [];
    for (const r of this.models.values()) if (r.stable?.model !== undefined) out.push(r.stable.model);
    return out;
  }

  /** Every ready version of every model (each has its own baseline, window and gauges). */
  ready(): LoadedModel[] {
    const out: LoadedModel[] = [];
    for (const r of this.models.values()) for (const v of r.versions.values()) if (v.state === 'ready') out.push(v.model!);
    return out;
  }

  /** A ready version of a model, whatever its role. */
  version(name: string, version: string): LoadedModel | undefined {
    const v = this.models.get(name)?.versions.get(version);
    return v?.state === 'ready' ? v.model : undefined;
  }

  /** Model names known to the registry (with or without a ready version). */
  names(): string[] {
    return [...this.models.keys()].sort();
  }

  /** Whether the default model has a stable version answering. */
  get defaultReady(): boolean {
    return this.get(this.defaultModel) !== undefined;
  }

  /**
   * The versions that answer and shadow one request of `name`, leased until `release`.
   * With a canary, a caller id lands in a fixed bucket (sticky); without one, each request
   * draws its own. Undefined when the model has no stable version.
   */
  pick(name: string, callerId: string | undefined, version?: string): Pick | undefined {
    const r = this.models.get(name);
    if (r === undefined) return undefined;
    let served: ModelVersion | undefined;
    if (version !== undefined) {
      served = r.versions.get(version);
      if (served?.state !== 'ready') return undefined;
    } else {
      served = r.stable;
      const c = r.canary;
      if (c !== undefined) {
        const bucket = callerId === undefined ? Math.floor(Math.random() * CANARY_BUCKETS) : stickyBucket(callerId);
        if (bucket < c.buckets) served = c.version;
      }
      if (served === undefined) return undefined;
    }
    served.leases++;
    const shadow = version === undefined && r.shadow !== undefined && r.shadow !== served ? r.shadow : undefined;
    if (shadow !== undefined) shadow.leases++;
    return { served, model: served.model!, shadow };
  }

  /** Ends a lease taken by `pick`. */
  release(v: ModelVersion): void {
    v.release();
  }

  roleOf(v: ModelVersion): VersionRole {
    const r = this.models.get(v.name);
    if (r === undefined) return 'none';
    if (r.stable === v) return 'stable';
    if (r.canary?.version === v) return 'canary';
    if (r.shadow === v) return 'shadow';
    if (r.previous === v) return 'previous';
    return 'none';
  }

  /** Every version known, loaded or not, with its state, reason and role. */
  statuses(): VersionStatus[] {
    const out: VersionStatus[] = [];
    for (const name of this.names()) {
      const r = this.models.get(name)!;
      for (const v of [...r.versions.values()].sort((a, b) => compareVersions(a.version, b.version))) {
        const role = this.roleOf(v);
        out.push({
          model: v.name, version: v.version, state: v.state, role,
          ...(v.reason === undefined ? {} : { reason: v.reason }),
          ...(role === 'canary' ? { canary_percent: r.canary!.percent } : {}),
          ...(v.loadSeconds === undefined ? {} : { load_seconds: Math.round(v.loadSeconds * 1000) / 1000 }),
          dir: v.dir,
        });
      }
    }
    return out;
  }

  private rollout(name: string): ModelRollout {
    let r = this.models.get(name);
    if (r === undefined) {
      r = { versions: new Map(), stable: undefined, previous: undefined, canary: undefined, shadow: undefined };
      this.models.set(name, r);
    }
    return r;
  }

  private slot(name: string, version: string): ModelVersion {
    const v = this.models.get(name)?.versions.get(version);
    if (v === undefined) throw new HttpError(404, 'unknown_version', `no version ${quote(version)} of model ${quote(name)}; known: ${this.versionList(name)}`, 'version');
    return v;
  }

  private readySlot(name: string, version: string): ModelVersion {
    const v = this.slot(name, version);
    if (v.state !== 'ready') throw new HttpError(409, 'version_not_ready', `version ${version} of ${name} is ${v.state}${v.reason === undefined ? '' : ` (${v.reason})`}`, 'version');
    return v;
  }

  private versionList(name: string): string {
    const r = this.models.get(name);
    return r === undefined ? `no model named ${quote(name)}` : [...r.versions.keys()].join(', ');
  }

  /** Records a version that failed before its manifest could be read (named by its folders). */
  recordFailure(name: string, version: string, dir: string, reason: string): ModelVersion {
    const v = new ModelVersion(name, version, dir);
    v.state = 'failed';
    v.reason = reason;
    this.rollout(name).versions.set(version, v);
    this.hooks.loadFailed?.(this, name, version, reason);
    this.hooks.changed?.(this);
    return v;
  }

  /**
   * Loads the bundle in `dir` as a new version, off the request path: session, parity
   * check, baseline. Resolves with its status; a failed load leaves the version `failed`
   * with its reason (and everything else serving). A version already loading or ready is refused.
   */
  async load(dir: string, opts: LoadOptions, expect?: { folder: string; versionFolder: string | undefined }): Promise<ModelVersion> {
    if (this.closed) throw new HttpError(503, 'shutting_down', 'the service is shutting down');
    const manifestPath = join(dir, MANIFEST_FILE);
    let name: string;
    let version: string;
    try {
      const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
      ({ name, version } = manifest);
      if (expect?.versionFolder !== undefined && (expect.folder !== name || expect.versionFolder !== version)) {
        throw new BundleError(manifestPath, 'name', `and "version" are ${quote(name)} ${quote(version)}, but the bundle sits in ${expect.folder}/${expect.versionFolder}; the folders must name the model and the version`);
      }
    } catch (err) {
      const message = err instanceof BundleError ? err.message : `${manifestPath}: cannot be read: ${(err as Error).message}`;
      return this.recordFailure(expect?.folder ?? dir, expect?.versionFolder ?? 'unknown', dir, message);
    }
    const r = this.rollout(name);
    const existing = r.versions.get(version);
    if (existing !== undefined && (existing.state === 'loading' || existing.state === 'ready')) {
      throw new HttpError(409, 'version_exists', `version ${version} of ${name} is already ${existing.state} (from ${existing.dir}); unload it first`, 'version');
    }
    const v = new ModelVersion(name, version, dir);
    r.versions.set(version, v);
    this.hooks.changed?.(this);
    const started = process.hrtime.bigint();
    let model: LoadedModel | undefined;
    try {
      model = await loadBundle(dir);
      // A monitor-only bundle scores nothing here (its predictions are ingested): no parity to check.
      const parity = model.scorer === undefined ? undefined : await readParity(dir);
      if (parity === undefined && opts.requireParity && model.scorer !== undefined) {
        throw new BundleError(join(dir, 'parity.json'), undefined, 'is missing: a live load checks the expected probabilities of reference rows (write it with tools/build_parity.py)');
      }
      if (parity !== undefined) await checkParity(model, parity);
      await this.hooks.prepare?.(model);
      if (this.closed) throw new Error('the service shut down during the load');
    } catch (err) {
      await model?.scorer?.close();
      v.state = 'failed';
      v.reason = (err as Error).message;
      this.hooks.loadFailed?.(this, name, version, v.reason);
      this.hooks.changed?.(this);
      return v;
    }
    v.model = model;
    v.loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    v.state = 'ready';
    if (r.stable === undefined) r.stable = v;
    this.hooks.changed?.(this);
    return v;
  }

  /** Loads a version by name from the models folder (`<model>/<version>` or the flat `<model>`). */
  async loadVersion(name: string, version: string): Promise<ModelVersion> {
    const dir = await locateBundle(this.modelsDir, name, version);
    if (dir === undefined) {
      throw new HttpError(404, 'bundle_not_found', `no bundle for ${quote(name)} version ${quote(version)} in ${this.modelsDir} (expected ${name}/${version}/${MANIFEST_FILE})`, 'version');
    }
    const v = await this.load(dir, { requireParity: true });
    if (v.version !== version || v.name !== name) {
      throw new HttpError(409, 'version_mismatch', `${dir}/${MANIFEST_FILE} declares ${v.name} ${v.version}, not ${name} ${version}`, 'version');
    }
    return v;
  }

  /** Makes a ready version the one that answers; the stable it replaces stays resident for a rollback. */
  promote(name: string, version: string): void {
    const v = this.readySlot(name, version);
    const r = this.models.get(name)!;
    if (r.stable === v) return;
    if (r.canary?.version === v) r.canary = undefined;
    if (r.shadow === v) r.shadow = undefined;
    r.previous = r.stable;
    r.stable = v;
    this.hooks.changed?.(this);
  }

  /** Swaps stable and previous back: instant, both are resident. */
  rollback(name: string): ModelVersion {
    const r = this.models.get(name);
    if (r === undefined) throw new HttpError(404, 'unknown_model', `no model named ${quote(name)}`, 'model');
    const back = r.previous;
    if (back === undefined || back.state !== 'ready') throw new HttpError(409, 'no_previous_version', `model ${name} has no previous stable version resident to roll back to`, 'model');
    r.previous = r.stable;
    r.stable = back;
    if (r.canary?.version === back) r.canary = undefined;
    if (r.shadow === back) r.shadow = undefined;
    this.hooks.changed?.(this);
    return back;
  }

  /** Sends `percent` of the traffic (0 stops the canary) to a ready version other than stable. */
  setCanary(name: string, version: string, percent: number): void {
    if (!(percent >= 0 && percent <= 100)) throw new HttpError(400, 'invalid_percent', `percent must be a number from 0 to 100, got ${quote(percent)}`, 'percent');
    const v = this.readySlot(name, version);
    const r = this.models.get(name)!;
    if (r.stable === v) throw new HttpError(409, 'version_is_stable', `version ${version} of ${name} is already stable`, 'version');
    r.canary = percent === 0 ? undefined : { version: v, percent, buckets: Math.round((percent / 100) * CANARY_BUCKETS) };
    if (r.shadow === v) r.shadow = undefined;
    this.hooks.changed?.(this);
  }

  /** Scores a copy of the model's traffic with a ready version (after the answer); undefined stops it. */
  setShadow(name: string, version: string | undefined): void {
    if (version === undefined) {
      const r = this.models.get(name);
      if (r === undefined) throw new HttpError(404, 'unknown_model', `no model named ${quote(name)}`, 'model');
      r.shadow = undefined;
    } else {
      const v = this.readySlot(name, version);
      const r = this.models.get(name)!;
      if (r.stable === v) throw new HttpError(409, 'version_is_stable', `version ${version} of ${name} is stable; shadow a candidate`, 'version');
      if (r.canary?.version === v) r.canary = undefined;
      r.shadow = v;
    }
    this.hooks.changed?.(this);
  }

  /**
   * Takes a version out of service: no new request picks it; its session is released once
   * the requests holding it end. The stable version cannot be unloaded (promote or roll back first).
   */
  async unload(name: string, version: string): Promise<void> {
    const v = this.slot(name, version);
    const r = this.models.get(name)!;
    if (r.stable === v) throw new HttpError(409, 'version_is_stable', `version ${version} of ${name} is stable; promote another version or roll back before unloading it`, 'version');
    if (v.state === 'loading') throw new HttpError(409, 'version_loading', `version ${version} of ${name} is still loading`, 'version');
    if (r.previous === v) r.previous = undefined;
    if (r.canary?.version === v) r.canary = undefined;
    if (r.shadow === v) r.shadow = undefined;
    const model = v.model;
    v.state = 'unloaded';
    v.reason = 'unloaded on request';
    v.model = undefined;
    this.hooks.changed?.(this);
    await v.drain();
    await model?.scorer?.close();
  }

  /**
   * At start: the highest ready version of each model answers, and the default model is the
   * one named (VIGIA_DEFAULT_MODEL) or else the first by name with a ready version.
   */
  chooseStable(defaultModel: string | undefined): void {
    for (const r of this.models.values()) {
      const ready = [...r.versions.values()].filter((v) => v.state === 'ready').sort((a, b) => compareVersions(a.version, b.version));
      r.stable = ready.at(-1);
    }
    this.defaultName = defaultModel ?? this.names().find((n) => this.get(n) !== undefined) ?? this.names()[0] ?? '';
    this.hooks.changed?.(this);
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions: Promise<void>[] = [];
    for (const r of this.models.values()) {
      for (const v of r.versions.values()) {
        if (v.model !== undefined) sessions.push(v.model.scorer?.close() ?? Promise.resolve());
        v.model = undefined;
      }
    }
    await Promise.all(sessions);
  }
}

/**
 * Loads every bundle under `modelsDir` (either layout). A bad bundle is recorded as a failed
 * version with its reason and the others still load; the stable version of a model is its
 * highest ready version. Throws only when the folder is unreadable, holds no bundle, no
 * version at all could be loaded, or VIGIA_DEFAULT_MODEL names no model found.
 */
export async function loadModels(modelsDir: string, defaultModel: string | undefined, hooks: RegistryHooks = {}): Promise<ModelRegistry> {
  const found = await discoverBundles(modelsDir);
  const registry = new ModelRegistry(modelsDir, defaultModel ?? '', hooks);
  const failures: string[] = [];
  for (const b of found) {
    let v: ModelVersion;
    try {
      v = await registry.load(b.dir, { requireParity: false }, { folder: b.folder, versionFolder: b.versionFolder });
    } catch (err) {
      // Two bundles declaring the same model and version: the second is failed.
      v = registry.recordFailure(b.folder, b.versionFolder ?? 'duplicate', b.dir, `${join(b.dir, MANIFEST_FILE)}: ${(err as Error).message}`);
    }
    if (v.state === 'failed') failures.push(v.reason!);
  }
  registry.chooseStable(defaultModel);
  const chosen = registry.defaultModel;
  if (registry.list().length === 0) {
    await registry.close();
    throw new BundleError(modelsDir, undefined, `no model version could be loaded: ${failures.join('; ')}`);
  }
  if (!registry.names().includes(chosen)) {
    await registry.close();
    throw new BundleError(modelsDir, undefined, `has no model named ${JSON.stringify(chosen)} (VIGIA_DEFAULT_MODEL); loaded: ${registry.names().join(', ')}`);
  }
  return registry;
}
