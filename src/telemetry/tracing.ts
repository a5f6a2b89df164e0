import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Tracing {
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing with the SDK's own reading of the standard OTEL_*
 * variables (endpoint, headers, sampler, resource). No auto-instrumentation: HTTP and
 * Express instrumentation cost more than half the throughput, so Vigia makes its own
 * spans, one per prediction request with its stages.
 *
 * With exporter `none` (the default) spans are not recorded, but trace ids are still
 * generated (or taken from the caller's `traceparent`), so every audit row has one.
 */
export function startTracing(opts: { exporter: string; serviceName: string; serviceVersion: string }): Tracing {
  const off = opts.exporter === 'none';
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    instrumentations: [],
    logRecordProcessors: [],
    ...(off ? { spanProcessors: [new NoopSpanProcessor()], sampler: new AlwaysOffSampler() } : {}),
  });
  sdk.start();
  return {
    tracer: trace.getTracer(opts.serviceName, opts.serviceVersion),
    shutdown: () => sdk.shutdown(),
  };
}

const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const v = carrier[key];
    return typeof v === 'string' || Array.isArray(v) ? (v as string | string[]) : undefined;
  },
};

/** The caller's trace context from its W3C `traceparent` header, if any. */
export function contextFromHeaders(headers: Record<string, unknown>): Context {
  return propagator.extract(ROOT_CONTEXT, headers, headerGetter);
}

const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Starts a child span of `parent` (explicit contexts: no global context manager needed).
 * Under an unsampled parent it returns a shared no-op span: nothing to allocate or end.
 */
export function childSpan(tracer: Tracer, name: string, parent: Span): Span {
  if (!parent.isRecording()) return NOT_RECORDING;
  return tracer.startSpan(name, undefined, trace.setSpan(ROOT_CONTEXT, parent));
}
