import type { ModelVersion } from '../model/registry.js';
import { groupsOf, validateMonitoring } from '../fairness/groups.js';
import { decide } from '../model/decision.js';
import type { AuditLog, AuditRecord } from '../store/audit-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { newPredictionId } from './prediction-id.js';
import type { PredictionResponse } from './service.js';
import { ShadowAgreement } from './shadow-agreement.js';

export interface ShadowDeps {
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Ends the shadow version's lease (taken when the request picked it). */
  readonly release: (v: ModelVersion) => void;
  /** Most shadow scorings waiting at once; beyond it a copy is dropped and counted, never queued without bound. */
  readonly maxPending?: number;
  readonly now?: () => number;
}

export interface ShadowJob {
  readonly shadow: ModelVersion;
  readonly instances: readonly unknown[];
  readonly answered: readonly PredictionResponse[];
  readonly requestId: string;
  readonly traceId: string;
  readonly eventTimeMs?: number;
  /** The request's `monitoring` attributes, as sent (the shadow's rows get the same fairness groups as the answer's). */
  readonly monitoring?: readonly unknown[];
}

const DEFAULT_MAX_PENDING = 1000;

/**
 * Scores a copy of answered requests with the shadow version, strictly after the answer:
 * the route calls `schedule` once the response is written, and the scoring starts on a
 * later turn of the event loop (setImmediate). The shadow rows go to the audit log marked
 * `shadow_of` the answered prediction, the agreement with the answer goes to metrics;
 * nothing of it is ever returned. A failure is logged and counted, the answer is not affected.
 */
export class ShadowScorer {
  private readonly agreements = new Map<string, ShadowAgreement>();
  private pending = 0;
  private readonly idle = new Set<() => void>();

  constructor(private readonly deps: ShadowDeps) {}

  schedule(job: ShadowJob): void {
    const { metrics, release } = this.deps;
    const labels = { model: job.shadow.name, version: job.shadow.version };
    if (this.pending >= (this.deps.maxPending ?? DEFAULT_MAX_PENDING)) {
      metrics.shadowFailures.inc(labels);
      release(job.shadow);
      return;
    }
    this.pending++;
    setImmediate(() => {
      void this.run(job).finally(() => {
        release(job.shadow);
        this.pending--;
        if (this.pending === 0) for (const done of this.idle) done();
      });
    });
  }

  /** Resolves when no shadow scoring is waiting or running (tests, shutdown). */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }

  /** Starts a version's agreement afresh (when it starts shadowing). */
  reset(model: string, version: string): void {
    this.agreements.delete(`${model}@${version}`);
  }

  /** The running agreement of a shadow version with the answers (since it started shadowing). */
  agreement(model: string, version: string): ShadowAgreement | undefined {
    return this.agreements.get(`${model}@${version}`);
  }

  private async run(job: ShadowJob): Promise<void> {
    const { metrics, logger, audit } = this.deps;
    const { shadow, instances, answered } = job;
    const labels = { model: shadow.name, version: shadow.version };
    const model = shadow.model;
    const scorer = model?.scorer;
    if (model === undefined || scorer === undefined) return; // unloaded while waiting, or monitor-only: nothing to compare
    try {
      const { encoder, manifest } = model;
      const rows = new Float32Array(instances.length * encoder.width);
      for (let i = 0; i < instances.length; i++) encoder.encode(instances[i], rows, i, `instances[${i}]`);
      const started = process.hrtime.bigint();
      const probabilities = await scorer.score(rows, instances.length);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.shadowInferenceDuration.observe(labels, seconds);
      const key = `${shadow.name}@${shadow.version}`;
      let agreement = this.agreements.get(key);
      if (agreement === undefined) {
        agreement = new ShadowAgreement();
        this.agreements.set(key, agreement);
      }
      const attributes = instances.map((_, i) => validateMonitoring(manifest.fairness, job.monitoring?.[i], `monitoring[${i}]`));
      const tsMs = (this.deps.now ?? Date.now)();
      const records: AuditRecord[] = [];
      let agreed = 0;
      for (let i = 0; i < instances.length; i++) {
        const probability = probabilities[i]!;
        const { decision, band } = decide(manifest, probability);
        const a = answered[i]!;
        agreement.add(a, { probability, decision });
        if (a.decision === decision) agreed++;
        records.push({
          id: newPredictionId(tsMs), requestId: job.requestId, tsMs, eventTsMs: job.eventTimeMs ?? tsMs, model: manifest.name, modelVersion: manifest.version,
          features: instances[i], probability, decision, band: band.name, threshold: manifest.threshold, latencyMs: Math.round(seconds * 1e6) / 1e3, traceId: job.traceId,
          bundleHash: model.contentHash,
          ...(manifest.fairness === undefined ? {} : { groups: groupsOf(manifest.fairness, instances[i] as Record<string, unknown>, attributes[i]) }),
          ...(attributes[i] === undefined ? {} : { monitoring: attributes[i] }),
          shadowOf: a.prediction_id,
        });
      }
      await audit.append(records);
      if (agreed > 0) metrics.shadowDecisions.inc({ ...labels, agreement: 'agree' }, agreed);
      if (agreed < instances.length) metrics.shadowDecisions.inc({ ...labels, agreement: 'disagree' }, instances.length - agreed);
      metrics.shadowAgreement.set(labels, agreement.agreementRatio);
      metrics.shadowScorePsi.set(labels, agreement.scorePsi);
    } catch (err) {
      metrics.shadowFailures.inc(labels);
      logger.warn('shadow scoring failed', { model: shadow.name, version: shadow.version, error: (err as Error).message });
    }
  }
}
