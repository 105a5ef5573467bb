// The following relay through Temporal with real worker processes: concurrent writers streamed
// within the second, a worker killed -9 mid-stream, a frozen worker resumed as a zombie,
// PostgreSQL and the broker restarted, continue-as-new under load, a second follower and a
// scheduled run refused, and a clean stop. Every row is counted by its own tag (writer and
// sequence) with a read_committed consumer, and each key's rows must arrive in their commit order;
// where bad rows stream in among the good ones, each must reach the dead-letter topic once, by row id.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, afterEach, before, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { FollowSummary } from '../src/activities/types.ts';
import type { DeadLetter } from '../src/dlq/envelope.ts';
import { followerWorkflowId } from '../src/cli/follow.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { envFor, readDecoded } from './support/app.ts';
import { createFaultKit } from './support/fault-kit.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { newOutbox, pgClient } from './support/outbox.ts';
import { outboxCli } from './support/outbox-cli.ts';
import { freePort, plaintextKafka, stackPid } from './support/services.ts';
import { temporalClient } from './support/worker.ts';

const run = promisify(execFile);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let client: Client;
let kit: ReturnType<typeof createFaultKit>;
before(async () => {
  client = await temporalClient();
  kit = createFaultKit(client, 'artifacts/outbox-follow.json');
});
afterEach(() => kit?.release());
after(async () => {
  await kit?.close();
  await client?.connection.close();
});

/** A scenario with its own outbox; the follower's settings short enough to see segments and heartbeats. */
async function followScenario(env0: Record<string, string> = {}) {
  const outbox = await newOutbox();
  const s = await kit.scenario({
    ...outbox.env,
    FOLLOW_COMMIT_INTERVAL_MS: '200',
    FOLLOW_WAL_HEARTBEAT_MS: '2000',
    ...env0,
  });
  const source = s.config.source.name;
  const env = { ...outbox.env, FOLLOW_COMMIT_INTERVAL_MS: '200', FOLLOW_WAL_HEARTBEAT_MS: '2000', ...env0 };
  const follow = () =>
    client.workflow.start('followOutboxWorkflow', {
      taskQueue: s.taskQueue,
      workflowId: followerWorkflowId(source),
      args: [{ source }],
      workflowExecutionTimeout: '8 minutes',
    }) as Promise<WorkflowHandle<() => Promise<FollowSummary>>>;
  return { ...s, env, table: outbox.table, slot: outbox.slot, source, follow };
}

/** Rows the relay must dead-letter, not publish (what each breaks: the status, the customer, the time). */
const BAD_ROWS = [
  (key: number, tag: string) => [key, tag, 'LOST', 'now'],
  (key: number) => [key, null, 'CREATED', 'now'],
  (key: number, tag: string) => [key, tag, 'CREATED', 'infinity'],
] as const;

/**
 * Writers, each committing one-row transactions on its own ten keys, tagged `w<writer>-<sequence>`.
 * With `badEvery`, every such row of a writer is one the relay must dead-letter instead (its row id
 * kept in `bad`), so bad rows stream in among the good ones on the same keys.
 */
function writers(table: string, count: number, perSecondEach: number, prefix = 'w', badEvery = 0) {
  let stopped = false;
  const written: string[] = [];
  const bad: string[] = [];
  const runs = Array.from({ length: count }, async (_, w) => {
    const db = await pgClient();
    try {
      for (let i = 0; !stopped; i++) {
        const started = performance.now();
        const key = w * 100 + (i % 10);
        const tag = `${prefix}${w}-${i}`;
        if (badEvery > 0 && i % badEvery === badEvery - 1) {
          const [orderId, customer, status, createdAt] = BAD_ROWS[((i / badEvery) % BAD_ROWS.length) | 0]!(key, tag);
          const row = await db.query<{ id: string }>(
            `INSERT INTO ${table} (order_id, customer_id, order_status, order_total, created_at)
             VALUES ($1, $2, $3, 1, $4::timestamptz) RETURNING id::text`,
            [orderId, customer, status, createdAt],
          );
          bad.push(row.rows[0]!.id);
        } else {
          await db.query(
            `INSERT INTO ${table} (order_id, customer_id, order_status, order_total) VALUES ($1, $2, 'CREATED', 1)`,
            [key, tag],
          );
          written.push(tag);
        }
        await sleep(Math.max(0, 1000 / perSecondEach - (performance.now() - started)));
      }
    } finally {
      await db.end();
    }
  });
  return {
    written,
    bad,
    async stop() {
      stopped = true;
      await Promise.all(runs);
      return written;
    },
  };
}

/** Each bad row once on the dead-letter topic (read_committed), by its row id, and nothing else there. */
async function assertDeadLettered(s: Awaited<ReturnType<typeof followScenario>>, bad: string[]): Promise<void> {
  assert.ok(bad.length > 0, 'the writers wrote bad rows');
  const dead = await readDecoded<DeadLetter>(s.app, s.config.kafka.dlqTopic, { timeoutMs: 30_000 });
  assert.deepEqual(
    dead.map((d) => d.headers['source_id']).sort(),
    [...bad].sort(),
    'each bad row once on the dead-letter topic',
  );
  for (const d of dead)
    assert.match(
      d.decoded.error_message,
      new RegExp(`^row ${d.headers['source_id']}: (order_status|customer_id|created_at)`),
    );
}

/** Every tag once on the topic (read_committed), and each key's tags in the order they were committed. */
async function assertFollowed(s: Awaited<ReturnType<typeof followScenario>>, written: string[]): Promise<void> {
  const expected = new Set(written);
  let records: Awaited<ReturnType<typeof readDecoded<OrderEvent>>> = [];
  for (let i = 0; i < 60; i++) {
    records = await readDecoded<OrderEvent>(s.app, s.config.kafka.topic, { timeoutMs: 30_000 });
    if (records.length >= expected.size) break;
    await sleep(1000);
  }
  const seen = records.map((r) => String(r.decoded.customer_id));
  const counts = new Map<string, number>();
  for (const tag of seen) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([t]) => t);
  const missing = written.filter((t) => !counts.has(t));
  const unexpected = [...counts.keys()].filter((t) => !expected.has(t));
  assert.deepEqual(
    { duplicates: duplicates.slice(0, 10), missing: missing.slice(0, 10), unexpected: unexpected.slice(0, 10) },
    { duplicates: [], missing: [], unexpected: [] },
    `each row exactly once (${seen.length} read, ${written.length} written)`,
  );
  // Per key: one partition, in offset order, the writer's sequence ascending (its commit order).
  const byKey = new Map<string, { offset: bigint; seq: number }[]>();
  for (const r of records) {
    const [writer, sequence] = String(r.decoded.customer_id).split('-');
    const key = `${String(r.decoded.order_id)}/${writer}`;
    const seq = Number(sequence);
    byKey.set(key, [...(byKey.get(key) ?? []), { offset: BigInt(r.offset), seq }]);
  }
  for (const [key, rows] of byKey) {
    const inOffsetOrder = [...rows].sort((a, b) => (a.offset < b.offset ? -1 : 1)).map((r) => r.seq);
    assert.deepEqual(
      inOffsetOrder,
      [...inOffsetOrder].sort((a, b) => a - b),
      `key ${key}: rows in commit order`,
    );
  }
}

/** The sum of the topic's high watermarks (records and transaction markers). */
async function committedRecords(topic: string): Promise<number> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the events topic holds at least `minRecords` (a follower has committed batches with rows). */
async function following(topic: string, minRecords = 1, timeoutMs = 60_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until;) {
    // High watermarks count transaction markers too: enough to tell that batches were committed.
    if ((await committedRecords(topic)) >= minRecords) return;
    await sleep(200);
  }
  throw new Error(`fewer than ${minRecords} records committed to ${topic} within ${timeoutMs / 1000} s`);
}

/** A failure and its causes as one line: `type: message` each. */
function causes(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { type?: string; name?: string; message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  )
    parts.push(`${e.type ?? e.name ?? 'Error'}: ${e.message ?? ''}`);
  return parts.join(' <- ');
}

async function stopped(handle: WorkflowHandle<() => Promise<FollowSummary>>): Promise<FollowSummary> {
  await handle.cancel();
  return await handle.result();
}

describeEachKafkaClient('the following relay (Temporal, worker processes, real PostgreSQL)', () => {
  test('concurrent writers, bad rows among the good: every row once, each key in commit order, each bad row dead-lettered once; its metrics; a clean stop', async () => {
    const s = await followScenario();
    const metrics = `127.0.0.1:${await freePort()}`;
    await s.worker({ METRICS_ADDRESS: metrics });
    const handle = await s.follow();
    const w = writers(s.table, 4, 50, 'w', 25);
    await following(s.config.kafka.topic);
    await sleep(6000);
    const written = await w.stop();
    await assertFollowed(s, written);
    await assertDeadLettered(s, w.bad);
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    const source = s.source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(
      text,
      new RegExp(`order_events_source_lag_wal_bytes\\{[^}]*source="${source}"[^}]*\\} \\d+`),
      'WAL lag',
    );
    assert.match(text, new RegExp(`order_events_source_lag_seconds\\{[^}]*source="${source}"`), 'lag in seconds');
    const commits = /order_events_runs_total\{[^}]*outcome="committed"[^}]*\} (\d+)/.exec(text);
    assert.ok(Number(commits?.[1]) > 1, `one committed run per batch: ${commits?.[0]}`);
    const produced = /order_events_produced_total\{[^}]*\} (\d+)/.exec(text);
    assert.equal(Number(produced?.[1]), written.length, 'rows counted as produced');
    const dead = /order_events_dead_lettered_total\{[^}]*\} (\d+)/.exec(text);
    assert.equal(Number(dead?.[1]), w.bad.length, `bad rows counted as dead-lettered: ${dead?.[0]}`);
    const summary = await stopped(handle);
    assert.equal(summary.stopped, true);
    assert.ok(summary.rows >= written.length, `the follower counted ${summary.rows} rows`);
  });

  test('a second follower and a scheduled run are refused while one follows', async () => {
    const s = await followScenario();
    await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 1, 20);
    await following(s.config.kafka.topic);
    await assert.rejects(s.follow(), /already started|already running/i, 'the same source: one workflow id');
    const other = await client.workflow.start('followOutboxWorkflow', {
      taskQueue: s.taskQueue,
      workflowId: `${followerWorkflowId(s.source)}-second`,
      args: [{ source: s.source }],
      workflowExecutionTimeout: '2 minutes',
    });
    await assert.rejects(other.result(), (err: Error) => /SourceBusyError: .*already has a follower/.test(causes(err)));
    const scheduled = await s.start(100);
    await assert.rejects(scheduled.result(), (err: Error) => /SourceBusyError: .*is followed/.test(causes(err)));
    const written = await w.stop();
    await assertFollowed(s, written);
    await stopped(handle);
  });

  test('the worker killed -9 mid-stream; another takes over: every row once, each bad row dead-lettered once', async () => {
    const s = await followScenario();
    const a = await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 2, 100, 'w', 40);
    await following(s.config.kafka.topic, 200);
    a.signal('SIGKILL');
    await s.worker();
    await sleep(8000);
    const written = await w.stop();
    await assertFollowed(s, written);
    await assertDeadLettered(s, w.bad);
    await stopped(handle);
  });

  test('the worker frozen past the heartbeat timeout, then resumed as a zombie: another takes over, every row once', async () => {
    // One activity slot per worker: the segment fills the frozen worker's, so it has no activity poll
    // open. (A poll a frozen worker left open is still a live poller to the server, and the retry can
    // be handed to it: each such retry waits out another heartbeat timeout, until the server ends
    // the poll after about a minute.)
    const s = await followScenario({ TEMPORAL_MAX_CONCURRENT_ACTIVITIES: '1' });
    const a = await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 2, 100);
    await following(s.config.kafka.topic, 200);
    // Frozen mid-stream (likely inside a batch: a batch collects for 200 ms of every ~250): its Kafka
    // transaction open, its replication connection holding the slot.
    a.signal('SIGSTOP');
    const frozenAt = await committedRecords(s.config.kafka.topic);
    const b = await s.worker();
    // The heartbeat timeout (6 s) passes; the retry on the other worker ends the frozen stream and
    // fences the open transaction, then follows on.
    await following(s.config.kafka.topic, frozenAt + 300, 120_000);
    const resumedAt = a.output().length;
    a.signal('SIGCONT');
    await sleep(6000);
    const written = await w.stop();
    await assertFollowed(s, written).catch((err: unknown) => {
      throw new Error(`${String(err)}\nzombie after resuming:\n${a.output().slice(resumedAt).slice(-3000)}`);
    });
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the follower goes on');
    assert.match(b.output(), /ending an earlier attempt’s stream of the slot/, 'the retry took the slot back');
    // The retry carries the lost attempt's last heartbeated totals: the summary misses at most the
    // rows that attempt committed after its last heartbeat reached the server (≤ 4.8 s at 200 rows/s).
    const summary = await stopped(handle);
    assert.ok(summary.rows <= written.length, `the follower counted ${summary.rows} of ${written.length} rows`);
    assert.ok(summary.rows >= written.length - 2000, `the follower counted ${summary.rows} of ${written.length} rows`);
  });

  test('Ctrl-C on the worker: it ends the segment between batches and exits; another worker goes on, every row once', async () => {
    const s = await followScenario();
    const a = await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 2, 50);
    await following(s.config.kafka.topic, 100);
    const signalled = Date.now();
    a.signal('SIGINT');
    await a.waitFor(/kafka producer closed/, 20_000);
    const exitMs = Date.now() - signalled;
    assert.ok(exitMs < 15_000, `the worker exited ${exitMs} ms after Ctrl-C (not after the 30 s grace time)`);
    assert.doesNotMatch(a.output(), /"level":"error"/, 'a clean stop logs no error');
    await s.worker();
    await sleep(6000);
    const written = await w.stop();
    await assertFollowed(s, written);
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the follower goes on on the other worker');
    await stopped(handle);
  });

  test('PostgreSQL killed -9 and restarted mid-stream: every row once', async () => {
    const s = await followScenario({ OUTBOX_QUERY_TIMEOUT_MS: '2000' });
    const worker = await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 1, 50);
    await following(s.config.kafka.topic, 100);
    const before = await w.stop();
    process.kill(stackPid('postgres'), 'SIGKILL');
    await sleep(1000);
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    const w2 = writers(s.table, 1, 50, 'v');
    await sleep(6000);
    const afterRestart = await w2.stop();
    await assertFollowed(s, [...before, ...afterRestart.map((t) => t)]).catch((err: unknown) => {
      throw new Error(`${String(err)}\nworker output:\n${worker.output().slice(-4000)}`);
    });
    await stopped(handle);
  });

  test('the broker killed -9 and restarted mid-stream: every row once, each bad row dead-lettered once', async () => {
    const s = await followScenario();
    await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 2, 50, 'w', 40);
    await following(s.config.kafka.topic, 100);
    process.kill(stackPid('kafka'), 'SIGKILL');
    await sleep(2000);
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    await sleep(5000);
    const written = await w.stop();
    await assertFollowed(s, written);
    await assertDeadLettered(s, w.bad);
    await stopped(handle);
  });

  test('the follow command: starts the follower, tells a second start which one runs, status shows it, --stop stops it', async () => {
    const s = await followScenario();
    await s.worker();
    const env = envFor(s.config, { ...s.env, TEMPORAL_TASK_QUEUE: s.taskQueue });
    const started = await outboxCli(['follow'], env);
    assert.equal(started.code, 0, started.out);
    assert.match(started.out, new RegExp(`following ${s.source}: workflow outbox-follow:${s.source}`));
    const w = writers(s.table, 1, 50);
    await following(s.config.kafka.topic);
    const again = await outboxCli(['follow'], env);
    assert.equal(again.code, 1, again.out);
    assert.match(again.out, /a follower of .* is already running: workflow outbox-follow:.*, run .*, since/);
    await sleep(6000); // the segment's heartbeat (every 80% of the 6 s timeout) carries its rows
    const status = await outboxCli(['status'], env);
    assert.match(
      status.out,
      /follower outbox-follow:.*: RUNNING since .*rows in \d+ commits, \d+ rows\/s, lag/,
      status.out,
    );
    const written = await w.stop();
    const stop = await outboxCli(['follow', '--stop'], env);
    assert.equal(stop.code, 0, stop.out);
    assert.match(stop.out, /stopped: Stopped\. \d+ rows in \d+ commits/);
    await assertFollowed(s, written);
    const after = await outboxCli(['status'], env);
    assert.match(after.out, /follower outbox-follow:.*: COMPLETED \(not following\)/);
  });

  test('continue-as-new under load: segments of 1.5 s, two per run; every row once', async () => {
    const s = await followScenario({ FOLLOW_SEGMENT_MS: '1500', FOLLOW_SEGMENTS_PER_RUN: '2' });
    await s.worker();
    const handle = await s.follow();
    const w = writers(s.table, 2, 100);
    await following(s.config.kafka.topic);
    await sleep(10_000);
    const written = await w.stop();
    await assertFollowed(s, written);
    const summary = await stopped(handle);
    assert.ok(summary.runs >= 3, `the follower continued as new (run ${summary.runs})`);
    assert.ok(summary.rows >= written.length);
  });
});
