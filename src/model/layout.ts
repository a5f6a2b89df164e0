import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError } from '../errors.js';
import { MANIFEST_FILE } from './manifest.js';

/**
 * Where a bundle sits in the models folder. Two layouts, told apart by where the manifest is:
 *
 *     models/credit-default/vigia.json             one version (the first release's layout)
 *     models/credit-default/1.0.0/vigia.json       versions side by side, one folder each
 *     models/credit-default/1.1.0/vigia.json
 *
 * Folders starting with a dot are skipped, so a bundle can be copied under a dotted name
 * and renamed into place (a rename is atomic: a load never sees half a bundle).
 */
export interface BundleLocation {
  readonly dir: string;
  /** The model folder's name (the model name, unless the manifest says otherwise). */
  readonly folder: string;
  /** The version folder's name in the side-by-side layout; undefined in the flat one. */
  readonly versionFolder: string | undefined;
}

const exists = (path: string) => access(path).then(() => true, () => false);

async function subFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** Every bundle of a models folder, in either layout, sorted by model and version folder. */
export async function discoverBundles(modelsDir: string): Promise<BundleLocation[]> {
  let models: string[];
  try {
    if (!(await stat(modelsDir)).isDirectory()) throw new Error('not a directory');
    models = await subFolders(modelsDir);
  } catch (err) {
    throw new BundleError(modelsDir, undefined, `is not a readable models directory (VIGIA_MODELS_DIR): ${(err as Error).message}`);
  }
  const found: BundleLocation[] = [];
  for (const folder of models) {
    const dir = join(modelsDir, folder);
    if (await exists(join(dir, MANIFEST_FILE))) {
      found.push({ dir, folder, versionFolder: undefined });
      continue;
    }
    const versions = await subFolders(dir);
    // A model folder with neither a manifest nor version folders is still reported (as failed).
    if (versions.length === 0) found.push({ dir, folder, versionFolder: undefined });
    for (const v of versions) found.push({ dir: join(dir, v), folder, versionFolder: v });
  }
  if (found.length === 0) {
    throw new BundleError(modelsDir, undefined, `holds no model bundle (one sub-folder per model, each with ${MANIFEST_FILE} and model.onnx, or one sub-folder per version)`);
  }
  return found;
}

/** The folder of a model version: `<models>/<model>/<version>`, or the flat `<models>/<model>`. */
export async function locateBundle(modelsDir: string, model: string, version: string): Promise<string | undefined> {
  if (!/^[\w.-]+$/.test(model) || !/^[\w.+-]+$/.test(version) || model.startsWith('.') || version.startsWith('.')) return undefined;
  const nested = join(modelsDir, model, version);
  if (await exists(join(nested, MANIFEST_FILE))) return nested;
  const flat = join(modelsDir, model);
  if (await exists(join(flat, MANIFEST_FILE))) return flat;
  return undefined;
}
