// Vigia / Service health: RED, rate and errors on the left, duration on the right.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { SERVICE_LIMITS } from '../../src/report/limits.js';
import { MODEL, prom, statPanel, timeseriesPanel, vigiaDashboard } from './panels.js';

const S = SERVICE_LIMITS;

const SCORING = 'route=~"/predict|/v1/models/:model/predict"';
const API = 'route!~"/metrics|/healthz|/readyz"';
/** Per replica: the share of a status class among its API requests (0 while it answered none of them). */
const replicaShare = (classes: string) =>
  `(sum by (instance) (rate(vigia_http_requests_total{${API}, status_class=~"${classes}"}[$__rate_interval])) or sum by (instance) (rate(vigia_http_requests_total{${API}}[$__rate_interval])) * 0)`
  + ` / sum by (instance) (rate(vigia_http_requests_total{${API}}[$__rate_interval]))`;
const RATIO = 'job_status_class:vigia_http_requests:ratio_rate5m';
/** The share of one status class; 0, not "no data", while the service never answered one. */
const share = (classes: string) => `sum by (job) (${RATIO}{status_class=~"${classes}"}) or sum by (job) (${RATIO}) * 0`;

export function serviceDashboard(): dashboard.Dashboard {
  return vigiaDashboard({
    uid: 'vigia-service',
    title: 'Vigia / Service health',
    description: 'Is the scoring service up, fast and answering? RED of the HTTP API with the SLO lines of the design, and what the service depends on.',
    panels: [
      statPanel({
        title: 'Targets up', unit: 'short',
        description: 'Vigia instances Prometheus scrapes successfully now. Red at 0: VigiaTargetDown pages after 2 minutes.',
        query: prom('sum(up{job="vigia"})', 'up', 'A'),
        steps: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
      }),
      statPanel({
        title: 'Uptime, 30 days', unit: 'percentunit',
        description: 'Share of successful scrapes over 30 days. Target above 99.5 %; VigiaUptimeLow warns below 99 %.',
        query: prom('avg_over_time(up{job="vigia"}[30d])', 'uptime', 'A'),
        steps: [{ value: null, color: 'red' }, { value: 0.99, color: 'orange' }, { value: 0.995, color: 'green' }],
      }),
      statPanel({
        title: 'Failed model versions', unit: 'short',
        description: 'Model versions now in the failed state (at start or on a live load); loading them again once fixed, or unloading them, clears it. Any is critical (VigiaModelLoadFailed).',
        query: prom('sum(vigia_model_version_state{state="failed"}) or vector(0)', 'failed', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
      }),
      statPanel({
        title: 'Audit-log commit failures', unit: 'short',
        description: 'Group commits of the audit log that failed over the time range. Their predictions were answered 503, never scored as done.',
        query: prom('sum(increase(vigia_audit_commit_failures_total[$__range]))', 'failures', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'Request rate by route', unit: 'reqps',
        description: 'Requests answered per second by route pattern, over 5 minutes (job_route:vigia_http_requests:rate5m). /metrics is the Prometheus scrape.',
        queries: [prom('job_route:vigia_http_requests:rate5m', '{{route}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Scoring latency: p50, p95, p99', unit: 's',
        description: 'Quantiles of the two predict routes over 5 minutes. SLO lines: p50 150 ms (warning), p95 200 ms (warning) and 300 ms (critical for 5 min), p99 1 s (critical).',
        queries: [prom('job_quantile:vigia_http_request_duration_seconds:histogram_quantile_rate5m', 'p{{quantile}}', 'A')],
        lines: [
          { value: S.latencyWarningMs.p50 / 1000, color: 'yellow' },
          { value: S.latencyWarningMs.p95 / 1000, color: 'orange' },
          { value: S.latencyCriticalMs.p95 / 1000, color: 'red' },
          { value: S.latencyCriticalMs.p99 / 1000, color: 'dark-red' },
        ],
      }),
      timeseriesPanel({
        title: 'Scoring requests per second', unit: 'reqps',
        description: 'Requests to the two predict routes per second (a batch is one request). VigiaLowRequestRate warns below 5 req/s for 30 minutes.',
        queries: [prom(`sum by (job) (job_route:vigia_http_requests:rate5m{${SCORING}})`, 'scoring', 'A')],
        lines: [{ value: 5, color: 'orange' }],
      }),
      timeseriesPanel({
        title: 'Inference time p99', unit: 's',
        description: 'p99 of one ONNX inference call of the model (a batch is one call). A rise here with flat request latency elsewhere points at the model.',
        queries: [prom(`histogram_quantile(0.99, sum by (le, model, version) (rate(vigia_inference_duration_seconds_bucket{${MODEL}}[$__rate_interval])))`, '{{model}} {{version}}', 'A')],
      }),
      timeseriesPanel({
        title: '4xx ratio', unit: 'percentunit',
        description: 'Share of API requests (probes and scrapes left out) answered 4xx over 5 minutes. VigiaHttp4xxRatioHigh warns above 5 %.',
        queries: [prom(share('4xx'), '4xx', 'A')],
        lines: [{ value: S.ratio4xx.warning, color: 'orange' }],
      }),
      timeseriesPanel({
        title: 'Audit-log commit time p99', unit: 's',
        description: 'p99 of one group commit of the audit log. A prediction is answered only after its commit, so this adds to every request.',
        queries: [prom('histogram_quantile(0.99, sum by (le) (rate(vigia_audit_commit_duration_seconds_bucket[$__rate_interval])))', 'commit p99', 'A')],
      }),
      timeseriesPanel({
        title: '5xx ratio', unit: 'percentunit',
        description: 'Share of API requests answered 5xx over 5 minutes. VigiaHttp5xxRatioCritical pages above 1 %.',
        queries: [prom(share('5xx'), '5xx', 'A')],
        lines: [{ value: S.ratio5xx.critical, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'Rejected inputs by reason', unit: 'reqps',
        description: 'Requests for the model rejected before scoring, by error code (wrong_type, missing_feature...). The 400 answers name the field.',
        queries: [prom(`sum by (reason) (rate(vigia_rejected_inputs_total{${MODEL}}[$__rate_interval]))`, '{{reason}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Error ratio (4xx + 5xx)', unit: 'percentunit',
        description: 'Share of API requests that failed, either class, over 5 minutes. VigiaErrorRatioCritical pages above 5 % for 5 minutes.',
        queries: [prom(share('4xx|5xx'), 'errors', 'A')],
        lines: [{ value: S.errorRatio.critical, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'Scoring requests per second, by replica', unit: 'reqps',
        description: 'The fleet\'s scoring traffic per replica (one series on a single process). A replica far below the others is out of the load balancer\'s rotation, or failing its /readyz.',
        queries: [prom(`sum by (instance) (rate(vigia_http_requests_total{${SCORING}}[$__rate_interval]))`, '{{instance}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Scoring latency p95, by replica', unit: 's',
        description: 'p95 of the predict routes per replica. One slow replica hides in the fleet\'s quantile above; here it stands out. SLO lines as above.',
        queries: [prom(`histogram_quantile(0.95, sum by (instance, le) (rate(vigia_http_request_duration_seconds_bucket{${SCORING}}[$__rate_interval])))`, '{{instance}}', 'A')],
        lines: [{ value: 0.2, color: 'orange' }, { value: 0.3, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'Error ratio (4xx + 5xx), by replica', unit: 'percentunit',
        description: 'Share of each replica\'s API requests that failed. A replica that lost PostgreSQL answers 503 (audit_log_unavailable) while the others serve.',
        queries: [prom(replicaShare('4xx|5xx'), '{{instance}}', 'A')],
        lines: [{ value: 0.05, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'Fleet evaluator', unit: 'short',
        description: 'Which replica evaluates drift and performance for the fleet (1), with its leadership term as a second series; every replica serves and exports what it stores. A change of hands is a step here; a gap with no evaluator for longer than VIGIA_LEADER_POLL plus one evaluation is worth a look.',
        queries: [prom('vigia_fleet_evaluator{job="vigia"}', '{{instance}}', 'A'), prom('max(vigia_fleet_evaluator_term{job="vigia"})', 'term', 'B')],
      }),
      timeseriesPanel({
        title: 'Event-loop lag p99', unit: 's',
        description: 'p99 delay of the Node.js event loop that serves the predict routes. A blocked loop delays every request at once.',
        queries: [prom('nodejs_eventloop_lag_p99_seconds{job="vigia"}', '{{instance}}', 'A')],
      }),
    ],
  });
}
