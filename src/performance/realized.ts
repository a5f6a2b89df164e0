import { costPer1000, type Costs } from './cost.js';
import { aucIntervalOfGroups, proportionInterval, type Interval } from './intervals.js';
import { aucOfGroups, brierScore, calibration, confusionAt, ksOfGroups, logLoss, observedVsPredicted, precisionRecallF1, scoreGroups, type CalibrationBin, type Confusion } from './metrics.js';

/** Every realized metric of a labelled cohort, at the model's threshold. */
export interface RealizedPerformance {
  readonly n: number;
  readonly positives: number;
  readonly confusion: Confusion;
  readonly auc: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly ksSeparation: number;
  readonly brierScore: number;
  readonly logLoss: number;
  readonly ece: number;
  readonly reliability: readonly CalibrationBin[];
  readonly observedPositiveRate: number;
  readonly meanPredicted: number;
  /** 95 % intervals: DeLong for the AUC, Wilson for precision and recall. */
  readonly intervals: { readonly auc: Interval; readonly precision: Interval; readonly recall: Interval };
  readonly costPer1000: number;
}

/**
 * Computes every realized metric of labels against probabilities (see metrics.ts and
 * intervals.ts). The rank metrics (AUC, its interval, KS) share one sort of the scores.
 */
export function realizedPerformance(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number, costs: Costs): RealizedPerformance {
  const groups = scoreGroups(labels, probabilities);
  const confusion = confusionAt(labels, probabilities, threshold);
  const { precision, recall, f1 } = precisionRecallF1(confusion);
  const cal = calibration(labels, probabilities, 10);
  const ovp = observedVsPredicted(labels, probabilities);
  return {
    n: labels.length,
    positives: confusion.tp + confusion.fn,
    confusion,
    auc: aucOfGroups(groups),
    precision,
    recall,
    f1,
    ksSeparation: ksOfGroups(groups),
    brierScore: brierScore(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    ece: cal.ece,
    reliability: cal.bins,
    observedPositiveRate: ovp.observedRate,
    meanPredicted: ovp.meanPredicted,
    intervals: {
      auc: aucIntervalOfGroups(groups),
      precision: proportionInterval(confusion.tp, confusion.tp + confusion.fp),
      recall: proportionInterval(confusion.tp, confusion.tp + confusion.fn),
    },
    costPer1000: costPer1000(confusion, costs),
  };
}
