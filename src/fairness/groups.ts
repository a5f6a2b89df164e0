import { InputError, quote } from '../errors.js';
import type { FeatureSpec } from '../model/manifest.js';

/** The group label of a missing (null) value, and of a feature code outside the manifest's list. */
export const MISSING_GROUP = 'missing';
export const OTHER_GROUP = 'other';

/**
 * One attribute watched for fairness. Either a model input (`feature`: its category codes, or
 * bands of a numeric feature cut at `edges`) or an attribute the caller sends beside the
 * features only for monitoring (`monitoring`: one of `values`), never given to the model.
 * `groups` lists every label it can take, so metric labels stay bounded.
 */
export type GroupAttribute =
  | { readonly name: string; readonly source: 'feature'; readonly feature: string; readonly edges: readonly number[] | undefined; readonly reference: string; readonly groups: readonly string[] }
  | { readonly name: string; readonly source: 'monitoring'; readonly values: readonly string[]; readonly nullable: boolean; readonly reference: string; readonly groups: readonly string[] };

export interface FairnessSpec {
  readonly attributes: readonly GroupAttribute[];
  /** A rate whose denominator is below this is "insufficient data", never a verdict. */
  readonly minGroupSize: number;
  /** The decision that favors the applicant: 0 when decision 1 is an action against them (the default). */
  readonly favorableDecision: 0 | 1;
}

/** Labels of the bands cut at `edges`: `<25`, `25-35`, …, `>=60`. */
export function bandLabels(edges: readonly number[]): string[] {
  const labels = [`<${edges[0]}`];
  for (let i = 1; i < edges.length; i++) labels.push(`${edges[i - 1]}-${edges[i]}`);
  labels.push(`>=${edges.at(-1)}`);
  return labels;
}

/** Every group a feature attribute can take: its bands or its codes, then `other` and `missing`. */
export function featureGroups(feature: FeatureSpec, edges: readonly number[] | undefined): string[] {
  const named = edges !== undefined ? bandLabels(edges) : (feature.categories ?? []).map(String);
  return [...named, ...(edges === undefined ? [OTHER_GROUP] : []), MISSING_GROUP];
}

function bandOf(value: number, edges: readonly number[]): string {
  if (value < edges[0]!) return `<${edges[0]}`;
  for (let i = 1; i < edges.length; i++) if (value < edges[i]!) return `${edges[i - 1]}-${edges[i]}`;
  return `>=${edges.at(-1)}`;
}

/**
 * Validates the `monitoring` object of one instance against the monitoring attributes, like
 * features are validated: an unknown key, a missing key, or a value not in the list is an
 * `InputError` naming the field and the value. `path` is `monitoring` or `monitoring[3]`.
 */
export function validateMonitoring(spec: FairnessSpec | undefined, value: unknown, path: string): Readonly<Record<string, string | null>> | undefined {
  const declared = spec?.attributes.filter((a): a is Extract<GroupAttribute, { source: 'monitoring' }> => a.source === 'monitoring') ?? [];
  if (value === undefined && declared.length === 0) return undefined;
  if (declared.length === 0) throw new InputError('invalid_body', path, `this model watches no monitoring attributes, so "${path}" is not accepted`);
  if (value === undefined) throw new InputError('missing_attribute', path, `${path} is missing: this model needs the monitoring attribute(s) ${declared.map((a) => a.name).join(', ')} beside the features`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError('invalid_body', path, `${path} must be an object of monitoring attributes (${declared.map((a) => a.name).join(', ')}), got ${quote(value)}`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!declared.some((a) => a.name === key)) throw new InputError('unknown_attribute', `${path}.${key}`, `${path}.${key} is not a monitoring attribute of this model (value ${quote(v[key])})`);
  }
  const out: Record<string, string | null> = {};
  for (const a of declared) {
    const field = `${path}.${a.name}`;
    if (!Object.hasOwn(v, a.name)) throw new InputError('missing_attribute', field, `${field} is missing`);
    const x = v[a.name];
    if (x === null) {
      if (!a.nullable) throw new InputError('null_not_allowed', field, `${field} must not be null`);
      out[a.name] = null;
      continue;
    }
    if (typeof x !== 'string' || !a.values.includes(x)) throw new InputError('invalid_attribute', field, `${field} must be one of ${a.values.map((s) => JSON.stringify(s)).join(', ')}, got ${quote(x)}`);
    out[a.name] = x;
  }
  return out;
}

/**
 * The group of each attribute for one validated instance: `{SEX: "2", AGE_BAND: "25-35", region: "north"}`.
 * Pure; the values were validated before.
 */
export function groupsOf(spec: FairnessSpec, features: Readonly<Record<string, unknown>>, monitoring: Readonly<Record<string, string | null>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of spec.attributes) {
    if (a.source === 'monitoring') {
      out[a.name] = monitoring?.[a.name] ?? MISSING_GROUP;
      continue;
    }
    const v = features[a.feature];
    if (typeof v !== 'number' || Number.isNaN(v)) out[a.name] = MISSING_GROUP;
    else if (a.edges !== undefined) out[a.name] = bandOf(v, a.edges);
    else out[a.name] = a.groups.includes(String(v)) ? String(v) : OTHER_GROUP;
  }
  return out;
}
