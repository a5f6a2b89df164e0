/** The seam around inference: float32 rows in, positive-class probabilities out. */
export interface Scorer {
  /** Features per row. */
  readonly width: number;
  /** Probabilities of the positive class for `count` rows laid out row-major in `rows`. */
  score(rows: Float32Array, count: number): Promise<Float64Array>;
  close(): Promise<void>;
}
