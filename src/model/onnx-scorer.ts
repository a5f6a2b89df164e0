import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { BundleError } from '../errors.js';
import { describeGraph, unwrapZipMap } from './onnx-graph.js';
import type { Scorer } from './scorer.js';

export interface OnnxScorerOptions {
  readonly modelPath: string;
  /** The manifest file, named in errors about the fields below. */
  readonly manifestPath: string;
  readonly inputName: string;
  readonly probabilityOutput: string;
  readonly positiveClassIndex: number;
  readonly width: number;
}

/** How the positive-class probability sits in the output tensor. */
type Layout = { readonly columns: number; readonly column: number };

/**
 * Scores with onnxruntime-node. A ZipMap on the probability output (skl2onnx,
 * onnxmltools) is removed at load so the float[N, classes] tensor is fetched instead.
 * Only the probability output is fetched: a binary TreeEnsembleClassifier's `label`
 * is not trusted, the decision is derived from the probability.
 */
export class OnnxScorer implements Scorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly input: string,
    private readonly output: string,
    private readonly layout: Layout,
    readonly width: number,
    /** True when a ZipMap was removed at load. */
    readonly unwrappedZipMap: boolean,
  ) {}

  static async load(opts: OnnxScorerOptions): Promise<OnnxScorer> {
    const { modelPath, manifestPath } = opts;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(modelPath));
    } catch (err) {
      throw new BundleError(modelPath, undefined, `cannot be read: ${(err as Error).message}`);
    }
    let graph;
    try {
      graph = describeGraph(bytes);
    } catch (err) {
      throw new BundleError(modelPath, undefined, `is not a readable ONNX model: ${(err as Error).message}`);
    }
    if (!graph.inputs.includes(opts.inputName)) {
      throw new BundleError(manifestPath, 'model.input', `is ${JSON.stringify(opts.inputName)}, but the model's inputs are ${JSON.stringify(graph.inputs)}`);
    }
    const out = graph.outputs.find((o) => o.name === opts.probabilityOutput);
    if (out === undefined) {
      throw new BundleError(manifestPath, 'model.probability_output', `is ${JSON.stringify(opts.probabilityOutput)}, but the model's outputs are ${JSON.stringify(graph.outputs.map((o) => o.name))}`);
    }
    let output = out.name;
    let unwrapped = false;
    if (out.kind === 'sequence' || out.kind === 'map') {
      try {
        ({ model: bytes, output } = unwrapZipMap(bytes, out.name));
        unwrapped = true;
      } catch (err) {
        throw new BundleError(modelPath, undefined, `output ${JSON.stringify(out.name)} is a ${out.kind}, which onnxruntime-node cannot return, and it cannot be unwrapped: ${(err as Error).message}`);
      }
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
    } catch (err) {
      throw new BundleError(modelPath, undefined, `is rejected by onnxruntime: ${(err as Error).message}`);
    }
    const layout = await probeLayout(session, opts, output);
    return new OnnxScorer(session, opts.inputName, output, layout, opts.width, unwrapped);
  }

  async score(rows: Float32Array, count: number): Promise<Float64Array> {
    const tensor = new ort.Tensor('float32', rows.subarray(0, count * this.width), [count, this.width]);
    const result = await this.session.run({ [this.input]: tensor }, [this.output]);
    const data = result[this.output]!.data as Float32Array;
    const probs = new Float64Array(count);
    const { columns, column } = this.layout;
    for (let i = 0; i < count; i++) probs[i] = data[i * columns + column]!;
    return probs;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The model's float tensor and ZipMap outputs: the candidates for `model.probability_output`. */
function floatOutputs(session: ort.InferenceSession): string[] {
  return session.outputMetadata.filter((o) => !o.isTensor || o.type === 'float32' || o.type === 'float64').map((o) => o.name);
}

/** Runs one row of zeros to learn the output's shape, and checks it against the manifest. */
async function probeLayout(session: ort.InferenceSession, opts: OnnxScorerOptions, output: string): Promise<Layout> {
  const declared = session.outputMetadata.find((o) => o.name === output);
  if (declared !== undefined && declared.isTensor && declared.type !== 'float32' && declared.type !== 'float64') {
    // A wrong output, not a wrong width: e.g. the int64 class label of a classifier.
    const candidates = floatOutputs(session);
    throw new BundleError(
      opts.manifestPath,
      'model.probability_output',
      `is ${JSON.stringify(opts.probabilityOutput)}, ${/^[aeiou]/.test(declared.type) ? 'an' : 'a'} ${declared.type} tensor (a class label, not a probability); name a float output${candidates.length === 0 ? '' : `: ${candidates.map((c) => JSON.stringify(c)).join(' or ')}`}`,
    );
  }
  let dims: readonly number[];
  try {
    const probe = new ort.Tensor('float32', new Float32Array(opts.width), [1, opts.width]);
    const result = await session.run({ [opts.inputName]: probe }, [output]);
    const t = result[output]!;
    if (t.type !== 'float32' && t.type !== 'float64') {
      throw new BundleError(opts.manifestPath, 'model.probability_output', `is ${JSON.stringify(opts.probabilityOutput)}, which returns a ${t.type} tensor, not a probability`);
    }
    dims = t.dims;
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(opts.modelPath, undefined, `fails on a test row of ${opts.width} features (is the manifest's feature list the model's input width?): ${(err as Error).message}`);
  }
  const columns = dims.length === 2 ? dims[1]! : 1;
  if (dims.length > 2 || dims[0] !== 1) {
    throw new BundleError(opts.modelPath, undefined, `probability output has shape [${dims.join(', ')}] for one row, expected [1, classes] or [1]`);
  }
  if (columns === 1) return { columns: 1, column: 0 };
  if (opts.positiveClassIndex >= columns) {
    throw new BundleError(opts.manifestPath, 'model.positive_class_index', `is ${opts.positiveClassIndex}, but the probability output has ${columns} columns`);
  }
  return { columns, column: opts.positiveClassIndex };
}
