// A fleet end to end, on loopback: three real `vigia serve` replicas on one throwaway
// PostgreSQL, and the real Prometheus scraping all three with the committed rules (every
// `for:` shortened to 3 s, scrapes every 1 s, as in stack.test.ts). Traffic is spread over
// the replicas, labels go to a replica other than the one that predicted, and the elected
// evaluator is SIGKILLed under load. The tests run in order on one fleet.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { tempDir } from '../helpers/app.js';
import { demoLabelledRows } from '../helpers/demo-rows.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { startVigia, type VigiaProcess } from '../helpers/process.js';
import { prometheusConfig, shortenedRules } from '../helpers/prometheus-config.js';
import { freePort, promQuery, startDaemon, waitFor, type Daemon } from '../helpers/stack.js';
import { requireTool } from '../helpers/tools.js';

const MODEL = 'credit-default';
const ROWS = demoLabelledRows(1200);
const STABLE = ROWS.slice(0, 600);
/** The second half of the rows with LIMIT_BAL tripled: one feature shifted. */
const SHIFTED = ROWS.slice(600).map((r) => ({ ...r.features, LIMIT_BAL: r.features['LIMIT_BAL']! * 3 }));
const NAMES = ['replica-a', 'replica-b', 'replica-c'];
const skip = postgresMissing();

interface Replica { readonly name: string; readonly proc: VigiaProcess }

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The served report without the answering replica's own request counters (the one part that is the replica's, not the fleet's). */
function fleetPart(report: Record<string, unknown>): Record<string, unknown> {
  const { since_start: _own, ...operational } = report['operational'] as Record<string, unknown>;
  return { ...report, operational };
}

/** What the alert depends on, as last seen: for a wait that timed out to say why. */
async function fleetState(promUrl: string, db: pg.Pool, survivors: readonly Replica[]): Promise<string> {
  const series = async (q: string) => ((await promQuery(promUrl, q)).data?.result ?? []).map((r) => `${r.metric['instance'] ?? ''} ${r.value[1]}`).join(', ');
  const sel = `model="${MODEL}",feature="LIMIT_BAL"`;
  const evaluations = (await db.query<{ term: string; replica: string; finished_ms: string }>('SELECT term, replica, finished_ms FROM evaluations ORDER BY finished_ms DESC LIMIT 3')).rows;
  return [
    `psi: ${await series(`vigia_feature_psi{${sel}}`)}`,
    `psi p-value adjusted: ${await series(`vigia_feature_psi_pvalue_adjusted{${sel}}`)}`,
    `window size: ${await series(`vigia_feature_window_size{${sel}}`)}`,
    `pending: ${await series('ALERTS{alertname="VigiaFeaturePsiCritical"}')}`,
    `last evaluations: ${JSON.stringify(evaluations)} (now ${Date.now()})`,
    ...survivors.map((r) => `${r.name} output (tail):\n${r.proc.output().slice(-1500)}`),
  ].join('\n');
}

describe('a fleet of three replicas on one PostgreSQL, scraped by Prometheus', { skip }, () => {
  const tmp = tempDir('vigia-fleet-');
  let cluster: PgCluster;
  let db: pg.Pool;
  let prometheus: Daemon;
  const replicas: Replica[] = [];
  /** Every prediction id a client received an answer for, with the replica that answered. */
  const answered = new Map<string, number>();
  let labelled = 0;
  let killed: Replica | undefined;

  const alive = () => replicas.filter((r) => r !== killed);
  const leaderName = async () => (await db.query<{ replica: string }>('SELECT replica FROM leader_terms ORDER BY term DESC LIMIT 1')).rows[0]?.replica;

  before(async () => {
    const prometheusBin = requireTool('prometheus');
    cluster = await startPostgres();
    db = new pg.Pool({ connectionString: cluster.url, max: 2 });
    for (const name of NAMES) {
      replicas.push({
        name,
        proc: await startVigia({
          VIGIA_DB: cluster.url, VIGIA_REPLICA_ID: name, VIGIA_EVAL_INTERVAL: '1s', VIGIA_LEADER_POLL: '300ms', VIGIA_LABEL_DELAY: '0', VIGIA_LOG_LEVEL: 'warn',
        }),
      });
    }
    const promPort = await freePort();
    writeFileSync(join(tmp.dir, 'prometheus.yml'), prometheusConfig(replicas.map((r) => new URL(r.proc.url).host), undefined, shortenedRules(join(tmp.dir, 'rules'))));
    prometheus = await startDaemon(prometheusBin, [
      `--config.file=${join(tmp.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`,
    ], `http://127.0.0.1:${promPort}`, '/-/ready');
  });

  after(async () => {
    await prometheus?.stop();
    for (const r of alive()) {
      r.proc.proc.kill('SIGTERM');
      await r.proc.exited;
    }
    await db?.end();
    await cluster?.close();
    tmp.remove();
  });

  it('spreads stable traffic over the replicas and joins every label posted to a replica other than the one that predicted', async () => {
    const labels: { prediction_id: string; label: 0 | 1; replica: number }[] = [];
    for (let i = 0; i < STABLE.length; i += 50) {
      const at = (i / 50) % replicas.length;
      const res = await post(`${replicas[at]!.proc.url}/v1/models/${MODEL}/predict`, { instances: STABLE.slice(i, i + 50).map((r) => r.features) });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      (res.json['predictions'] as { prediction_id: string }[]).forEach((p, k) => {
        answered.set(p.prediction_id, at);
        labels.push({ prediction_id: p.prediction_id, label: STABLE[i + k]!.label, replica: at });
      });
    }
    for (let at = 0; at < replicas.length; at++) {
      const mine = labels.filter((l) => l.replica === at).map(({ prediction_id, label }) => ({ prediction_id, label }));
      const other = replicas[(at + 1) % replicas.length]!;
      const res = await post(`${other.proc.url}/v1/labels`, { labels: mine });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json['accepted'], mine.length, `${other.name} accepted the labels of ${replicas[at]!.name}'s predictions`);
      assert.equal(res.json['unknown'], 0);
      labelled += mine.length;
    }
    const joined = await db.query<{ n: string }>('SELECT count(*) AS n FROM labels l JOIN predictions p ON p.id = l.prediction_id');
    assert.equal(Number(joined.rows[0]!.n), labelled, 'every label joined its prediction');
  });

  it('loses no answered prediction when the elected evaluator is SIGKILLed under load, and elects another within a bounded time', async () => {
    const leader = await waitFor('an elected evaluator', 20_000, leaderName);
    const victim = replicas.find((r) => r.name === leader)!;
    await waitFor('the leader\'s first published report', 20_000, async () => ((await db.query('SELECT 1 FROM fleet_reports')).rowCount! > 0 ? true : undefined));
    let stop = false;
    const client = async (c: number) => {
      for (let i = c; !stop; i += 9) {
        const at = (c + Math.floor(i / 9)) % replicas.length;
        const target = replicas[at]!;
        if (target === killed) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        try {
          const res = await post(`${target.proc.url}/predict`, { features: STABLE[i % STABLE.length]!.features });
          if (res.status === 200) answered.set(res.json['prediction_id'] as string, at);
        } catch {
          // a request cut by the kill: the client never got an answer
        }
      }
    };
    const before = answered.size;
    const clients = Array.from({ length: 9 }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    victim.proc.proc.kill('SIGKILL');
    killed = victim;
    await victim.proc.exited;
    const next = await waitFor('another replica to be elected', 20_000, async () => {
      const name = await leaderName();
      return name !== undefined && name !== victim.name ? name : undefined;
    });
    const failoverMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(clients);
    process.stderr.write(`fleet: ${victim.name} SIGKILLed, ${next} elected ${failoverMs} ms later (VIGIA_LEADER_POLL 300ms); ${answered.size - before} predictions answered under load\n`);
    assert.ok(answered.size - before > 50, `only ${answered.size - before} predictions were answered under load`);

    const logged = new Set((await db.query<{ id: string }>('SELECT id FROM predictions')).rows.map((r) => r.id));
    const lost = [...answered.keys()].filter((id) => !logged.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${answered.size} answered predictions are not in the database`);
  });

  it('raises one alert for a shifted feature, not one per replica', async () => {
    const survivors = alive();
    // The load before left a number of stable rows that depends on the machine's speed (1,100
    // to 1,500 here): send the shifted rows until they are twice the stable ones, so the
    // window's PSI is past the critical threshold whatever that number was.
    const stable = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE model = $1', [MODEL])).rows[0]!.n);
    for (let i = 0; i < 2 * stable; i += 100) {
      const batch = SHIFTED.slice(i % SHIFTED.length, (i % SHIFTED.length) + 100);
      const res = await post(`${survivors[(i / 100) % survivors.length]!.proc.url}/v1/models/${MODEL}/predict`, { instances: batch });
      assert.equal(res.status, 200, JSON.stringify(res.json));
    }
    const firing = 'ALERTS{alertname="VigiaFeaturePsiCritical",alertstate="firing"}';
    let seen = '';
    const alerts = await waitFor('VigiaFeaturePsiCritical to fire', 60_000, async () => {
      const r = await promQuery(prometheus.url, firing);
      if ((r.data?.result.length ?? 0) > 0) return r.data!.result;
      seen = await fleetState(prometheus.url, db, survivors);
      return undefined;
    }, () => seen);
    // Every replica exports the shifted PSI (the stored report), and still one alert.
    const exporters = await promQuery(prometheus.url, `vigia_feature_psi{model="${MODEL}",feature="LIMIT_BAL"} >= 0.25`);
    assert.equal(exporters.data?.result.length, survivors.length, 'each live replica exports the evaluator\'s PSI');
    assert.deepEqual(alerts.map((a) => a.metric), [{
      __name__: 'ALERTS', alertname: 'VigiaFeaturePsiCritical', alertstate: 'firing', severity: 'critical', signal: 'feature_psi',
      job: 'vigia', model: MODEL, version: '1.0.0', feature: 'LIMIT_BAL',
    }]);
  });

  it('serves the same report from every replica: the one the evaluator stored', async () => {
    const survivors = alive();
    const reports = await waitFor('the replicas to serve one stored report', 20_000, async () => {
      const got = await Promise.all(survivors.map(async (r) => (await (await fetch(`${r.proc.url}/v1/models/${MODEL}/report`)).json()) as Record<string, unknown>));
      return got.every((g) => g['evaluated_at'] === got[0]!['evaluated_at']) ? got : undefined;
    });
    for (const r of reports.slice(1)) assert.deepEqual(fleetPart(r), fleetPart(reports[0]!));
    const stored = (await db.query<{ report: { evaluated_at: string } }>('SELECT report FROM fleet_reports WHERE model = $1', [MODEL])).rows[0]!.report;
    assert.ok(stored.evaluated_at >= String(reports[0]!['evaluated_at']), 'the served report is the stored one (or one publish older)');
    const inDb = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE model = $1', [MODEL])).rows[0]!.n);
    assert.equal((reports[0]!['window'] as { n: number }).n, inDb, 'the report covers every replica\'s predictions');
    assert.equal((reports[0]!['summary'] as { status: string }).status, 'CRITICAL');
    for (const r of survivors) {
      const page = await (await fetch(`${r.proc.url}/status`)).text();
      assert.match(page, /CRITICAL/);
      assert.match(page, /LIMIT_BAL/);
    }
  });

  it('had exactly one evaluator at a time: the published evaluations of successive terms never overlap', async () => {
    const terms = (await db.query<{ term: string; replica: string }>('SELECT term, replica FROM leader_terms ORDER BY term')).rows;
    assert.ok(new Set(terms.map((t) => t.replica)).size >= 2, 'the lead changed hands');
    const spans = (await db.query<{ term: string; replica: string; first: string; last: string; n: string }>(
      'SELECT term, min(replica) AS replica, min(started_ms) AS first, max(finished_ms) AS last, count(*) AS n FROM evaluations GROUP BY term ORDER BY term')).rows;
    const owner = new Map(terms.map((t) => [t.term, t.replica]));
    for (const s of spans) assert.equal(s.replica, owner.get(s.term), `term ${s.term}'s evaluations were published by its own leader`);
    for (let i = 1; i < spans.length; i++) {
      assert.ok(Number(spans[i - 1]!.last) <= Number(spans[i]!.first), `term ${spans[i - 1]!.term} (${spans[i - 1]!.replica}) evaluated until ${spans[i - 1]!.last}, after term ${spans[i]!.term} (${spans[i]!.replica}) began at ${spans[i]!.first}`);
    }
    assert.ok(spans.length >= 2, 'evaluations were published under at least two terms');
  });
});
