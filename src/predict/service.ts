import { SpanStatusCode, type Context, type Tracer } from '@opentelemetry/api';
import { HttpError, InputError } from '../errors.js';
import type { LoadedModel } from '../model/bundle.js';
import { groupsOf, validateMonitoring } from '../fairness/groups.js';
import { decide } from '../model/decision.js';
import type { RowExplanation } from '../explain/model-explainer.js';
import type { Reason } from '../explain/reasons.js';
import type { UnseenCategory } from '../model/input.js';
import type { AuditLog, AuditRecord } from '../store/audit-log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { childSpan } from '../telemetry/tracing.js';
import { newPredictionId } from './prediction-id.js';

/** One prediction as answered to the client (the design's API contract). */
export interface PredictionResponse {
  readonly prediction_id: string;
  readonly model: string;
  readonly model_version: string;
  readonly probability: number;
  readonly decision: 0 | 1;
  readonly band: string;
  readonly action: string;
  readonly threshold: number;
  readonly latency_ms: number;
  readonly trace_id: string;
  /** The client-supplied event time (ISO 8601), when the request gave one. */
  readonly event_time?: string;
  readonly warnings?: readonly { code: 'unseen_category'; field: string; value: number; message: string }[];
  /** The principal reasons (decision 1, or asked with `explain`; tree models only), strongest first. */
  readonly reasons?: readonly Reason[];
  /** The full attribution, when asked with `"explain": true`. */
  readonly explanation?: ExplanationResponse;
}

/** SHAP values on the margin scale: `base_value + Σ contributions = margin`, and `link(margin) = probability`. */
export interface ExplanationResponse {
  readonly base_value: number;
  readonly contributions: Readonly<Record<string, number>>;
  readonly margin: number;
  /** `logistic`: probability = 1 / (1 + e^−margin); `identity`: probability = margin. */
  readonly link: 'logistic' | 'identity';
}

export interface PredictRequest {
  readonly model: LoadedModel;
  readonly instances: readonly unknown[];
  /** How fields are named in errors: `features` for one object, `instances` for a batch. */
  readonly shape: 'features' | 'instances';
  readonly requestId: string;
  /** process.hrtime.bigint() when the request arrived; latency is measured from it. */
  readonly receivedAt: bigint;
  /** The caller's trace context (W3C traceparent), or the root context. */
  readonly parent: Context;
  /** Client-supplied event time (ms), already validated; the decision time stays the server's. */
  readonly eventTimeMs?: number;
  /** `"explain": true`: every instance gets reasons and its full attribution. */
  readonly explain?: boolean;
  /** Attributes sent beside each instance for monitoring only (never given to the model), not yet validated. */
  readonly monitoring?: readonly unknown[];
}

export interface PredictionServiceDeps {
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  readonly now?: () => number;
  /** Per model version (`model@version`), the reference-bin counters of the fleet PSI; absent for versions without a baseline. */
  readonly referenceBins?: ReadonlyMap<string, { record(instances: readonly unknown[]): void }>;
}

/** The design table's high-risk share counts probabilities of 0.5 or more. */
export const HIGH_RISK_PROBABILITY = 0.5;

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

function explanationOf(e: RowExplanation, features: readonly { name: string }[], link: 'logistic' | 'identity'): ExplanationResponse {
  const contributions: Record<string, number> = {};
  features.forEach((f, j) => (contributions[f.name] = e.contributions[j]!));
  return { base_value: e.base, contributions, margin: e.margin, link };
}

/**
 * Validate → infer → decide → log, for one request of one or many instances. A bad row
 * rejects the whole request before anything is scored; the answer is returned only after
 * the audit rows are committed.
 */
/** 409 for a scoring request to a monitor-only model (no model file: its predictions are ingested). */
export function monitorOnly(name: string): HttpError {
  return new HttpError(409, 'monitor_only', `model ${name} is monitor-only: Vigia has no model file to score it with; send the predictions made elsewhere to POST /v1/models/${name}/observations`);
}

export class PredictionService {
  private readonly now: () => number;

  constructor(private readonly deps: PredictionServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async predict(req: PredictRequest): Promise<PredictionResponse[]> {
    const { model, instances, shape } = req;
    const { manifest, encoder, scorer } = model;
    if (scorer === undefined) throw monitorOnly(manifest.name);
    const { tracer, metrics } = this.deps;
    const root = tracer.startSpan('vigia.predict', { attributes: { 'vigia.model': manifest.name, 'vigia.model_version': manifest.version, 'vigia.batch_size': instances.length } }, req.parent);
    const traceId = root.spanContext().traceId;
    try {
      const explainer = model.explainer;
      if (req.explain === true && !explainer.available) {
        throw new HttpError(422, 'explanations_unavailable', `model ${manifest.name} ${manifest.version} cannot be explained: ${explainer.reason}. Send the request without "explain" to be scored.`, 'explain');
      }
      // validate
      const validate = childSpan(tracer, 'validate', root);
      const rows = new Float32Array(instances.length * encoder.width);
      const unseen: UnseenCategory[][] = [];
      const monitoring: (Readonly<Record<string, string | null>> | undefined)[] = [];
      try {
        for (let i = 0; i < instances.length; i++) {
          unseen.push(encoder.encode(instances[i], rows, i, shape === 'features' ? 'features' : `instances[${i}]`));
          monitoring.push(validateMonitoring(manifest.fairness, req.monitoring?.[i], shape === 'features' ? 'monitoring' : `monitoring[${i}]`));
        }
      } finally {
        validate.end();
      }

      // infer
      const infer = childSpan(tracer, 'infer', root);
      const started = process.hrtime.bigint();
      let probabilities: Float64Array;
      try {
        probabilities = await scorer.score(rows, instances.length);
      } catch (err) {
        throw new HttpError(500, 'inference_failed', `model ${manifest.name} ${manifest.version} failed to score: ${(err as Error).message}`);
      } finally {
        infer.end();
      }
      metrics.inferenceDuration.observe({ model: manifest.name, version: manifest.version }, Number(process.hrtime.bigint() - started) / 1e9);

      // decide, and explain decisions of 1 and rows asked with explain (tree models)
      const decisions = Array.from(probabilities, (p) => decide(manifest, p));
      const explanations: (RowExplanation | undefined)[] = new Array(instances.length);
      if (explainer.available && (req.explain === true || decisions.some((d) => d.decision === 1))) {
        const span = childSpan(tracer, 'explain', root);
        const began = process.hrtime.bigint();
        let explained = 0;
        for (let i = 0; i < instances.length; i++) {
          if (req.explain !== true && decisions[i]!.decision !== 1) continue;
          explanations[i] = explainer.explain(rows, i);
          explained++;
        }
        span.end();
        metrics.explanationDuration.observe({ model: manifest.name, version: manifest.version }, Number(process.hrtime.bigint() - began) / 1e9 / explained);
      }
      const latencyMs = round(Number(process.hrtime.bigint() - req.receivedAt) / 1e6, 3);
      const tsMs = this.now();
      const eventTsMs = req.eventTimeMs ?? tsMs;
      const eventTime = req.eventTimeMs === undefined ? {} : { event_time: new Date(req.eventTimeMs).toISOString() };
      const responses: PredictionResponse[] = [];
      const records: AuditRecord[] = [];
      for (let i = 0; i < instances.length; i++) {
        const probability = probabilities[i]!;
        const { decision, band } = decisions[i]!;
        const explained = explanations[i];
        const id = newPredictionId(tsMs);
        const rowUnseen = unseen[i]!;
        responses.push({
          prediction_id: id,
          model: manifest.name,
          model_version: manifest.version,
          probability,
          decision,
          band: band.name,
          action: band.action,
          threshold: manifest.threshold,
          latency_ms: latencyMs,
          trace_id: traceId,
          ...eventTime,
          ...(rowUnseen.length === 0
            ? {}
            : {
                warnings: rowUnseen.map((u) => ({
                  code: 'unseen_category' as const,
                  field: u.feature,
                  value: u.value,
                  message: `${u.feature}=${u.value} was not seen in training; scored as an unseen category`,
                })),
              }),
          ...(explained === undefined ? {} : { reasons: explained.reasons }),
          ...(explained === undefined || req.explain !== true ? {} : { explanation: explanationOf(explained, encoder.features, explainer.available ? explainer.link : 'identity') }),
        });
        const attributes = monitoring[i];
        records.push({
          id, requestId: req.requestId, tsMs, eventTsMs, model: manifest.name, modelVersion: manifest.version, features: instances[i],
          probability, decision, band: band.name, threshold: manifest.threshold, latencyMs, traceId, bundleHash: model.contentHash,
          ...(manifest.fairness === undefined ? {} : { groups: groupsOf(manifest.fairness, instances[i] as Record<string, unknown>, attributes) }),
          ...(attributes === undefined ? {} : { monitoring: attributes }),
          ...(explained === undefined ? {} : { reasons: explained.reasons }),
        });
      }

      // log: answered only once committed
      const log = childSpan(tracer, 'audit_log', root);
      try {
        await this.deps.audit.append(records);
      } catch (err) {
        throw new HttpError(503, 'audit_log_unavailable', `the prediction could not be written to the audit log, so it is not answered: ${(err as Error).message}`);
      } finally {
        log.end();
      }

      const labels = { model: manifest.name, version: manifest.version };
      const perBand = new Map<string, number>();
      let flagged = 0;
      let highRisk = 0;
      for (const r of responses) {
        perBand.set(r.band, (perBand.get(r.band) ?? 0) + 1);
        flagged += r.decision;
        if (r.probability >= HIGH_RISK_PROBABILITY) highRisk++;
      }
      for (const [band, n] of perBand) metrics.predictions.inc({ ...labels, band }, n);
      if (flagged < responses.length) metrics.decisions.inc({ ...labels, decision: '0' }, responses.length - flagged);
      if (flagged > 0) metrics.decisions.inc({ ...labels, decision: '1' }, flagged);
      if (highRisk > 0) metrics.highRiskPredictions.inc(labels, highRisk);
      this.deps.referenceBins?.get(`${manifest.name}@${manifest.version}`)?.record(instances);
      for (const row of unseen) {
        for (const u of row) metrics.unseenCategories.inc({ model: manifest.name, version: manifest.version, feature: u.feature });
      }
      return responses;
    } catch (err) {
      root.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      if (!(err instanceof InputError)) root.recordException(err as Error);
      throw err;
    } finally {
      root.end();
    }
  }
}
