import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { FencedError, LeaderElection } from '../../src/fleet/leader.js';
import { openPostgres } from '../../src/store/postgres.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { waitFor } from '../helpers/stack.js';

const skip = postgresMissing();
let cluster: PgCluster;
let pool: pg.Pool;
const POLL_MS = 200;

/** Three replicas campaigning, with every change each one saw. */
function campaign(names: string[]) {
  const changes: { replica: string; leader: boolean; term?: number; at: number }[] = [];
  const elections = names.map((replica) => LeaderElection.start({
    url: cluster.url, replica, pollMs: POLL_MS,
    onChange: (c) => changes.push({ replica, leader: c.leader, ...(c.leader ? { term: c.term } : {}), at: Date.now() }),
  }));
  const leaders = () => elections.filter((e) => e.isLeader);
  return { elections, changes, leaders, close: () => Promise.all(elections.map((e) => e.close())) };
}

describe('LeaderElection', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
    pool = await openPostgres({ url: cluster.url, poolSize: 2 });
  });
  after(async () => {
    await pool?.end();
    await cluster?.close();
  });

  it('elects exactly one of several replicas and opens a term for it', async () => {
    const fleet = campaign(['a', 'b', 'c']);
    const leader = await waitFor('a leader', 5000, async () => fleet.leaders()[0]);
    await new Promise((r) => setTimeout(r, POLL_MS * 3));
    assert.equal(fleet.leaders().length, 1, 'still one leader after the others polled again');
    const term = (await pool.query('SELECT term, replica FROM leader_terms ORDER BY term DESC LIMIT 1')).rows[0];
    assert.equal(Number(term.term), leader.term);
    await fleet.close();
  });

  it('fences the leader at once when its connection is killed, and another replica takes over within a bounded time', async () => {
    const fleet = campaign(['a', 'b', 'c']);
    const leader = await waitFor('a leader', 5000, async () => fleet.leaders()[0]);
    const oldTerm = leader.term!;
    const pid = await leader.asLeader(async (client) => (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number);
    const killed = Date.now();
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor('the old leader to fence itself', 5000, async () => (leader.isLeader ? undefined : true));
    await assert.rejects(leader.asLeader(async () => 'published'), FencedError, 'a fenced leader publishes nothing');
    const next = await waitFor('a new leader', 10_000, async () => fleet.leaders()[0]);
    const failoverMs = Date.now() - killed;
    assert.ok(next.term! > oldTerm, 'the new term is higher: the fencing token only rises');
    assert.equal(fleet.leaders().length, 1);
    process.stderr.write(`leader failover after its connection was killed: ${failoverMs} ms (poll ${POLL_MS} ms)\n`);
    await fleet.close();
  });

  it('hands over when the leader closes, releasing the lock with its session', async () => {
    const fleet = campaign(['a', 'b']);
    const leader = await waitFor('a leader', 5000, async () => fleet.leaders()[0]);
    await leader.close();
    const next = await waitFor('the other replica to lead', 5000, async () => fleet.leaders()[0]);
    assert.notEqual(next, leader);
    await fleet.close();
  });

  it('keeps campaigning through a database outage and elects a leader once the database is back', async () => {
    const fleet = campaign(['a', 'b']);
    await waitFor('a leader', 5000, async () => fleet.leaders()[0]);
    await pool.end();
    cluster.stop();
    try {
      await waitFor('every replica to fence itself', 5000, async () => (fleet.leaders().length === 0 ? true : undefined));
    } finally {
      cluster.start();
    }
    pool = await openPostgres({ url: cluster.url, poolSize: 2 });
    await waitFor('a leader after the outage', 10_000, async () => fleet.leaders()[0]);
    assert.equal(fleet.leaders().length, 1);
    await fleet.close();
  });
});
