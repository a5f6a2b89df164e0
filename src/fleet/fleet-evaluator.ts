import type pg from 'pg';
import { modelKey, type DriftMonitor } from '../drift/monitor.js';
import type { ModelReport } from '../report/model-report.js';
import { publishReport, readReport, readReports, type StoredReport } from './fleet-reports.js';
import { FencedError, LeaderElection } from './leader.js';

export interface FleetEvaluatorOptions {
  /** This replica's evaluation process (started with no timer of its own). */
  readonly monitor: DriftMonitor;
  readonly pool: pg.Pool;
  readonly url: string;
  readonly replica: string;
  /** Evaluation period while leading, ms (0: only on demand). */
  readonly intervalMs: number;
  /** Lock poll, connection check and stored-report re-read period, ms. */
  readonly pollMs: number;
  /** Called on every replica when a newly stored report is read: the verdict gauges follow it. */
  readonly onStored?: (key: string, stored: StoredReport) => void;
  readonly onLeaderChange?: (change: { leader: true; term: number } | { leader: false; reason: string }) => void;
  /** An evaluation failed or could not be published. */
  readonly onFailure?: (key: string, error: string) => void;
}

/** No report to serve yet: the fleet's evaluator has not published one for this model version. */
export class NoFleetReportError extends Error {
  override readonly name = 'NoFleetReportError';
}

/**
 * Fleet mode's report source: the elected replica evaluates (on its evaluation process, on a
 * timer and when elected) and stores each report in PostgreSQL under its term; every replica,
 * the leader included, serves the stored report, so whichever replica answers, the JSON
 * report, the status page and the weekly report say the same thing. Every replica also
 * re-reads the stored reports each poll period and hands them to `onStored`, so each exports
 * the same verdict gauges (the rules aggregate the instance away).
 */
export class FleetEvaluator {
  private readonly election: LeaderElection;
  private evalTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly seen = new Map<string, string>();
  private closed = false;

  private constructor(private readonly opts: FleetEvaluatorOptions) {
    this.election = LeaderElection.start({
      url: opts.url,
      replica: opts.replica,
      pollMs: opts.pollMs,
      onChange: (change) => {
        opts.onLeaderChange?.(change);
        if (change.leader) void this.evaluateAll();
      },
    });
  }

  static start(opts: FleetEvaluatorOptions): FleetEvaluator {
    const fleet = new FleetEvaluator(opts);
    if (opts.intervalMs > 0) {
      fleet.evalTimer = setInterval(() => {
        if (fleet.election.isLeader) void fleet.evaluateAll();
      }, opts.intervalMs);
      fleet.evalTimer.unref();
    }
    fleet.pollTimer = setInterval(() => {
      fleet.polling ??= fleet.pollStored().finally(() => {
        fleet.polling = undefined;
      });
    }, opts.pollMs);
    fleet.pollTimer.unref();
    return fleet;
  }

  /** How often the leader evaluates, ms (0: on demand only). */
  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  get keys(): string[] {
    return this.opts.monitor.keys;
  }

  /** This replica's term while it is the fleet's evaluator. */
  get leaderTerm(): number | undefined {
    return this.election.term;
  }

  /** The report the fleet's evaluator stored last for a model version (read from PostgreSQL). */
  async lastReport(key: string): Promise<ModelReport | undefined> {
    const at = key.lastIndexOf('@');
    return (await readReport(this.opts.pool, key.slice(0, at), key.slice(at + 1)))?.report;
  }

  /**
   * On the leader: evaluates now and stores the report (fenced: a leader that lost the lock
   * meanwhile stores nothing). On a follower: the stored report, since only the leader evaluates.
   */
  async evaluate(key: string): Promise<ModelReport> {
    const term = this.election.term;
    if (term !== undefined) {
      const startedMs = Date.now();
      const started = process.hrtime.bigint();
      let report: ModelReport;
      try {
        report = await this.opts.monitor.evaluate(key, term);
      } catch (err) {
        this.opts.onFailure?.(key, (err as Error).message);
        throw err;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        await this.election.asLeader(async (client, current) => {
          if (current !== term) throw new FencedError(`the lead changed from term ${term} to ${current} during the evaluation`);
          await publishReport(client, term, this.opts.replica, { model: report.model, version: report.model_version, startedMs, finishedMs: Date.now() }, report, seconds);
        });
      } catch (err) {
        this.opts.onFailure?.(key, `the report was not published: ${(err as Error).message}`);
        if (!(err instanceof FencedError)) throw err;
      }
    }
    const stored = await this.lastReport(key);
    if (stored === undefined) throw new NoFleetReportError(`the fleet's evaluator has not published a report for ${key} yet (it evaluates every VIGIA_EVAL_INTERVAL; a new leader is elected within VIGIA_LEADER_POLL)`);
    return stored;
  }

  /** Evaluates every model version if this replica leads; failures go to `onFailure`. */
  async evaluateAll(): Promise<void> {
    if (!this.election.isLeader || this.closed) return;
    await Promise.all(this.keys.map((k) => this.evaluate(k).catch(() => undefined)));
    await this.pollStored();
  }

  private async pollStored(): Promise<void> {
    let stored: Map<string, StoredReport>;
    try {
      stored = await readReports(this.opts.pool);
    } catch {
      return; // the database is away: /readyz says so; the gauges keep their last values
    }
    for (const key of this.keys) {
      const s = stored.get(key);
      if (s === undefined) continue;
      const stamp = `${s.term}:${s.report.evaluated_at}`;
      if (this.seen.get(key) === stamp) continue;
      this.seen.set(key, stamp);
      this.opts.onStored?.(key, s);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.evalTimer !== undefined) clearInterval(this.evalTimer);
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    await this.polling;
    await this.election.close();
  }
}

export { modelKey };
