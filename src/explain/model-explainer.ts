import { join } from 'node:path';
import { readCsvColumns } from '../data/csv.js';
import type { Manifest } from '../model/manifest.js';
import { coversFromSample, hitratesAreCovers, type CoverSource } from './covers.js';
import { NotExplainableError, readTreeEnsemble, type Link } from './onnx-trees.js';
import { ReasonRanker, type Reason } from './reasons.js';
import { FastTreeShap, type LeafTableStats } from './fast-tree-shap.js';

/** A row's attribution on the margin scale, and its top reasons. */
export interface RowExplanation {
  readonly base: number;
  readonly contributions: Float64Array;
  readonly margin: number;
  readonly reasons: Reason[];
}

/** A model that can be explained. */
export class ModelExplainer {
  readonly available = true;

  constructor(
    private readonly shap: FastTreeShap,
    private readonly ranker: ReasonRanker,
    /** Where the node covers came from. */
    readonly coverSource: CoverSource,
    /** How the margin becomes the probability. */
    readonly link: Link,
    /** The ensemble, for messages: operator, transform, trees, nodes. */
    readonly source: string,
  ) {}

  get base(): number {
    return this.shap.base;
  }

  get width(): number {
    return this.shap.width;
  }

  /** The TreeSHAP leaf tables built at load: memory, build time, trees left to Algorithm 2. */
  get tables(): LeafTableStats {
    return this.shap.stats;
  }

  /** SHAP values of the row at `offset` into `out`; returns the margin (for attribution drift). */
  explainInto(rows: Float32Array, offset: number, out: Float64Array): number {
    return this.shap.explainInto(rows, offset, out);
  }

  /** Explains row `i` of `rows` (float32, row-major, manifest order). */
  explain(rows: Float32Array, i: number): RowExplanation {
    const contributions = new Float64Array(this.shap.width);
    const margin = this.shap.explainInto(rows, i * this.shap.width, contributions);
    return { base: this.shap.base, contributions, margin, reasons: this.ranker.top(contributions) };
  }
}

/** A model that cannot be explained, and why (told to a client that asks). */
export interface NoExplainer {
  readonly available: false;
  readonly reason: string;
}

export type Explainer = ModelExplainer | NoExplainer;

/**
 * The explainer of a loaded bundle: reads the tree ensemble from the ONNX bytes and, when
 * `nodes_hitrates` carry no covers, routes the reference sample through the trees once to
 * get them. Runs at load, never on the request path. A model that is not one tree
 * ensemble gets a `NoExplainer` saying why; it still serves.
 */
export async function loadExplainer(dir: string, manifest: Manifest, model: Uint8Array): Promise<Explainer> {
  if (manifest.model === undefined) return { available: false, reason: 'a monitor-only bundle has no model to explain' };
  let ensemble;
  try {
    ensemble = readTreeEnsemble(model, { probabilityOutput: manifest.model.probabilityOutput, positiveClassIndex: manifest.model.positiveClassIndex });
  } catch (err) {
    if (err instanceof NotExplainableError) return { available: false, reason: err.message };
    throw err;
  }
  const width = manifest.features.length;
  if (ensemble.width > width) return { available: false, reason: `the trees split on input column ${ensemble.width - 1}, but the manifest lists ${width} features` };
  const names = manifest.features.map((f) => f.name);
  let covers: Float64Array;
  let source: CoverSource;
  let described: string;
  if (hitratesAreCovers(ensemble)) {
    covers = ensemble.hitrates!;
    source = 'nodes_hitrates';
    described = `${ensemble.source}; covers from nodes_hitrates`;
  } else {
    const sample = await readSampleRows(dir, manifest);
    covers = coversFromSample(ensemble, sample.rows, sample.count, width);
    source = 'reference_sample';
    described = `${ensemble.source}; covers from ${sample.count} reference rows`;
  }
  const shap = new FastTreeShap(ensemble, covers, width);
  return new ModelExplainer(shap, new ReasonRanker(names, manifest.explanations.groups, manifest.explanations.maxReasons), source, ensemble.link, described);
}

/** The bundle's reference sample as float32 rows in manifest order (NaN for missing). */
export async function readSampleRows(dir: string, manifest: Manifest): Promise<{ rows: Float32Array; count: number }> {
  const names = manifest.features.map((f) => f.name);
  const width = names.length;
  const file = join(dir, manifest.referenceFile);
  const csv = await readCsvColumns(file, { numeric: names, required: names });
  const rows = new Float32Array(csv.rows * width);
  names.forEach((name, j) => {
    const col = csv.columns.get(name);
    if (col?.kind !== 'numeric') throw new Error(`${file}: column ${name} is not numeric`);
    for (let i = 0; i < csv.rows; i++) rows[i * width + j] = col.values[i]!;
  });
  return { rows, count: csv.rows };
}
