import { psi } from '../drift/psi.js';

/** Equal-width probability bins of the shadow comparison. */
export const SHADOW_SCORE_BINS = 10;

const binOf = (p: number) => Math.min(SHADOW_SCORE_BINS - 1, Math.max(0, Math.floor(p * SHADOW_SCORE_BINS)));

/**
 * How a shadow version agrees with the answered one on the same rows: decision agreement
 * and the PSI between the two probability distributions (answered as reference). Pure
 * arithmetic over running counts; one per shadowed model version.
 */
export class ShadowAgreement {
  rows = 0;
  agreed = 0;
  readonly answeredBins = new Float64Array(SHADOW_SCORE_BINS);
  readonly shadowBins = new Float64Array(SHADOW_SCORE_BINS);

  add(answered: { probability: number; decision: number }, shadow: { probability: number; decision: number }): void {
    this.rows++;
    if (answered.decision === shadow.decision) this.agreed++;
    this.answeredBins[binOf(answered.probability)]!++;
    this.shadowBins[binOf(shadow.probability)]!++;
  }

  get agreementRatio(): number {
    return this.rows === 0 ? Number.NaN : this.agreed / this.rows;
  }

  get scorePsi(): number {
    return psi(this.answeredBins, this.shadowBins);
  }
}
