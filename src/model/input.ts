import { InputError, quote } from '../errors.js';
import type { FeatureSpec } from './manifest.js';

/** float32's largest finite value: anything larger would reach the model as Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A category code the model never saw in training: scored as is, and reported. */
export interface UnseenCategory {
  readonly feature: string;
  readonly value: number;
}

/** Encodes validated rows into the model's float32 input, in manifest feature order. */
export class InputEncoder {
  private readonly position = new Map<string, number>();
  private readonly categorySets: ReadonlyArray<ReadonlySet<number> | undefined>;

  constructor(readonly features: readonly FeatureSpec[]) {
    features.forEach((f, i) => this.position.set(f.name, i));
    this.categorySets = features.map((f) => (f.categories === undefined ? undefined : new Set(f.categories)));
  }

  get width(): number {
    return this.features.length;
  }

  /**
   * Validates one instance and writes it at `out[row * width ...]`. `path` prefixes field
   * names in errors (`features` or `instances[3]`). Returns the unseen categories.
   * Throws an `InputError` naming the field and the value; nothing is scored then.
   */
  encode(input: unknown, out: Float32Array, row: number, path: string): UnseenCategory[] {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new InputError('invalid_body', path, `${path} must be an object of feature values, got ${quote(input)}`);
    }
    const values = input as Record<string, unknown>;
    for (const key of Object.keys(values)) {
      if (!this.position.has(key)) {
        throw new InputError('unknown_feature', `${path}.${key}`, `${path}.${key} is not a feature of this model (value ${quote(values[key])})`);
      }
    }
    const unseen: UnseenCategory[] = [];
    const base = row * this.features.length;
    for (let i = 0; i < this.features.length; i++) {
      const spec = this.features[i]!;
      const field = `${path}.${spec.name}`;
      if (!Object.hasOwn(values, spec.name)) {
        throw new InputError('missing_feature', field, `${field} is missing`);
      }
      const v = values[spec.name];
      if (v === null) {
        if (!spec.nullable) throw new InputError('null_not_allowed', field, `${field} must not be null (this feature does not accept missing values)`);
        out[base + i] = Number.NaN;
        continue;
      }
      if (typeof v !== 'number') {
        throw new InputError('wrong_type', field, `${field} must be a number, got ${quote(v)}`);
      }
      if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
        throw new InputError('not_finite', field, `${field} must be a finite number, got ${String(v)}`);
      }
      const categories = this.categorySets[i];
      if (categories !== undefined) {
        if (!Number.isInteger(v)) {
          throw new InputError('wrong_type', field, `${field} must be an integer category code, got ${quote(v)}`);
        }
        if (!categories.has(v)) unseen.push({ feature: spec.name, value: v });
      }
      out[base + i] = v;
    }
    return unseen;
  }
}
