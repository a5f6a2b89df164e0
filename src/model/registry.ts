import { BundleError } from '../errors.js';
import { listBundleDirs, loadBundle, type LoadedModel } from './bundle.js';

/** The models being served, by name, and the default one behind `POST /predict`. */
export class ModelRegistry {
  private readonly byName: ReadonlyMap<string, LoadedModel>;

  constructor(
    models: readonly LoadedModel[],
    readonly defaultModel: string,
  ) {
    this.byName = new Map(models.map((m) => [m.manifest.name, m]));
    if (!this.byName.has(defaultModel)) throw new Error(`default model ${defaultModel} is not loaded`);
  }

  get(name: string): LoadedModel | undefined {
    return this.byName.get(name);
  }

  list(): LoadedModel[] {
    return [...this.byName.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.list().map((m) => m.scorer?.close()));
  }
}

/**
 * Loads every bundle under `modelsDir`. Any bad bundle stops the load with a message
 * naming the file, the field and the value; models already loaded are released first.
 */
export async function loadModels(modelsDir: string, defaultModel: string | undefined): Promise<ModelRegistry> {
  const loaded: LoadedModel[] = [];
  try {
    for (const dir of await listBundleDirs(modelsDir)) {
      const model = await loadBundle(dir);
      const twin = loaded.find((m) => m.manifest.name === model.manifest.name);
      if (twin !== undefined) {
        await model.scorer?.close();
        throw new BundleError(`${dir}/vigia.json`, 'name', `is ${JSON.stringify(model.manifest.name)}, already used by ${twin.dir}`);
      }
      loaded.push(model);
    }
    const names = loaded.map((m) => m.manifest.name).sort();
    const chosen = defaultModel ?? names[0]!;
    if (!names.includes(chosen)) {
      throw new BundleError(modelsDir, undefined, `has no model named ${JSON.stringify(chosen)} (VIGIA_DEFAULT_MODEL); loaded: ${names.join(', ')}`);
    }
    return new ModelRegistry(loaded, chosen);
  } catch (err) {
    await Promise.all(loaded.map((m) => m.scorer?.close()));
    throw err;
  }
}
