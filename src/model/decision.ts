import type { Band, Manifest } from './manifest.js';

export interface Decision {
  /** 1 when the probability reaches the model's threshold. */
  readonly decision: 0 | 1;
  readonly band: Band;
}

/** The band a probability falls in: the highest band whose lower edge it reaches. */
export function bandFor(bands: readonly Band[], probability: number): Band {
  for (const band of bands) if (probability >= band.minProbability) return band;
  return bands[bands.length - 1]!;
}

/** The decision and band for a positive-class probability, by the bundle's policy. */
export function decide(manifest: Pick<Manifest, 'threshold' | 'bands'>, probability: number): Decision {
  return { decision: probability >= manifest.threshold ? 1 : 0, band: bandFor(manifest.bands, probability) };
}
