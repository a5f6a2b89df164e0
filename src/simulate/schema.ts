/**
 * What the simulator knows of a model: its features as the running service describes them
 * (`GET /v1/models`), so the rows it sends are the rows the service validates.
 */
export interface FeatureSchema {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical' | 'binary';
  readonly nullable: boolean;
  readonly categories: readonly number[] | undefined;
}

export interface ModelSchema {
  readonly name: string;
  readonly version: string;
  readonly isDefault: boolean;
  readonly features: readonly FeatureSchema[];
  /** The reference data's label column, when the model declares one. */
  readonly labelColumn: string | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The models of a `GET /v1/models` answer. Throws when the answer is not shaped like one. */
export function readModelList(body: unknown): ModelSchema[] {
  if (!isRecord(body) || !Array.isArray(body['models'])) throw new Error('GET /v1/models did not answer {"models": [...]}');
  return body['models'].map((m, i) => {
    if (!isRecord(m) || typeof m['name'] !== 'string' || !Array.isArray(m['features'])) throw new Error(`GET /v1/models: models[${i}] has no name or features`);
    const label = isRecord(m['label']) && typeof m['label']['column'] === 'string' ? m['label']['column'] : undefined;
    return {
      name: m['name'],
      version: String(m['version'] ?? ''),
      isDefault: m['default'] === true,
      labelColumn: label,
      features: m['features'].map((f, j): FeatureSchema => {
        if (!isRecord(f) || typeof f['name'] !== 'string') throw new Error(`GET /v1/models: models[${i}].features[${j}] has no name`);
        const kind = f['kind'] === 'categorical' || f['kind'] === 'binary' ? f['kind'] : 'numeric';
        const categories = Array.isArray(f['categories']) ? f['categories'].filter((c): c is number => typeof c === 'number') : undefined;
        return { name: f['name'], kind, nullable: f['nullable'] === true, categories };
      }),
    };
  });
}

/** The named model, or the service's default model when no name is given; undefined when absent. */
export function pickModel(models: readonly ModelSchema[], name: string | undefined): ModelSchema | undefined {
  return name === undefined ? models.find((m) => m.isDefault) ?? models[0] : models.find((m) => m.name === name);
}
