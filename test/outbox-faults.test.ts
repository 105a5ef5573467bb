// The outbox source through Temporal with real worker processes, faults injected by pid: a worker,
// PostgreSQL and the broker killed mid-run, two runs of the source at once, a completed run reset,
// and a backfill of past slots. Every row is counted by order_id with a read_committed consumer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, afterEach, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RunSummary } from '../src/activities/types.ts';
import { envFor } from './support/app.ts';
import { attemptsOf, createFaultKit, midSend } from './support/fault-kit.ts';
import { describeEachKafkaClient, type KafkaClient } from './support/kafka-clients.ts';
import { assertEachRowOnce, insertMany, newOutbox, range } from './support/outbox.ts';
import { scheduleCli } from './support/schedule-cli.ts';
import { stackPid, uniqueName } from './support/services.ts';
import { temporalClient } from './support/worker.ts';
import { rerunFromFirstTask } from './support/workflow-reset.ts';

const run = promisify(execFile);
/** Rows in the runs struck mid-send: a send of a few seconds on each backend. */
const MID_SEND_ROWS: Record<KafkaClient, number> = { kafkajs: 40_000, librdkafka: 150_000 };

let client: Client;
let kit: ReturnType<typeof createFaultKit>;
const schedules: string[] = [];
before(async () => {
  client = await temporalClient();
  kit = createFaultKit(client, 'artifacts/outbox-faults.json');
});
afterEach(() => kit?.release());
after(async () => {
  for (const id of schedules)
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await kit?.close();
  await client?.connection.close();
});

/** A fault scenario whose worker publishes its own fresh outbox table. */
async function outboxScenario(env: Record<string, string> = {}) {
  const outbox = await newOutbox();
  const s = await kit.scenario({ ...outbox.env, ...env });
  return { ...s, table: outbox.table };
}

const sourceOf = (summary: RunSummary) => {
  assert.ok(summary.source, 'an outbox run reports its source');
  return summary.source;
};

describeEachKafkaClient('outbox source under faults (Temporal, worker processes, real PostgreSQL)', (kafkaClient) => {
  const ROWS = MID_SEND_ROWS[kafkaClient];

  test('worker killed -9 mid-run; the retry publishes every row once', async () => {
    const s = await outboxScenario();
    await insertMany(s.table, range(1, ROWS));
    const first = await s.worker();
    const handle = await s.start(ROWS);
    await midSend(s.config);
    first.signal('SIGKILL');
    await s.worker();
    const summary = await handle.result();
    assert.ok((await attemptsOf(handle)) >= 2);
    assert.equal(summary.acknowledged, ROWS);
    assert.equal(sourceOf(summary).from, null);
    await assertEachRowOnce(s.app, range(1, ROWS));
  });

  test('PostgreSQL killed -9 mid-run and restarted: the run completes, every row once', async () => {
    const s = await outboxScenario({ OUTBOX_PAGE_ROWS: '1000', OUTBOX_QUERY_TIMEOUT_MS: '2000' });
    await insertMany(s.table, range(1, ROWS));
    const worker = await s.worker();
    const handle = await s.start(ROWS);
    await midSend(s.config);
    process.kill(stackPid('postgres'), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    const summary = await handle.result();
    assert.equal(summary.acknowledged, ROWS);
    assert.match(worker.output(), /SourceUnavailableError/, 'the kill hit the run: a read failed and was retried');
    await assertEachRowOnce(s.app, range(1, ROWS));
  });

  test('broker killed -9 mid-run and restarted: every row once', async () => {
    const s = await outboxScenario();
    await insertMany(s.table, range(1, ROWS));
    const worker = await s.worker();
    const handle = await s.start(ROWS);
    await midSend(s.config);
    process.kill(stackPid('kafka'), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    const summary = await handle.result().catch((err: unknown) => {
      throw new Error(`run failed; the worker's output:\n${worker.output().slice(-6000)}`, { cause: err });
    });
    assert.equal(summary.acknowledged, ROWS);
    await assertEachRowOnce(s.app, range(1, ROWS));
  });

  test('the worker running the attempt frozen past the heartbeat timeout, then resumed as a zombie: fenced, every row once', async () => {
    // One activity slot per worker, so the retry goes to the other worker (see test/faults.test.ts).
    const s = await outboxScenario({ TEMPORAL_MAX_CONCURRENT_ACTIVITIES: '1' });
    await insertMany(s.table, range(1, ROWS));
    const a = await s.worker();
    const b = await s.worker();
    const handle = await s.start(ROWS);
    await midSend(s.config);
    const identity = (await handle.describe()).raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const running = [a, b].find((w) => identity.startsWith(w.identity));
    assert.ok(running, `no worker of ours runs the attempt (identity ${identity})`);
    running.signal('SIGSTOP');
    const summary = await handle.result();
    const resumedAt = running.output().length;
    running.signal('SIGCONT');
    await running.waitFor(/"message":"fenced: a newer attempt of this run took over/, 30_000);
    assert.doesNotMatch(running.output().slice(resumedAt), /"message":"events produced"/);
    assert.equal(summary.acknowledged, ROWS);
    await assertEachRowOnce(s.app, range(1, ROWS));
  });

  test('two runs of the source at once (two workflows, two workers): no row twice, none skipped', async () => {
    const s = await outboxScenario();
    await insertMany(s.table, range(1, 30_000));
    await s.worker();
    await s.worker();
    const [a, b] = await Promise.all([s.start(20_000), s.start(20_000)]);
    const [ra, rb] = await Promise.all([a.result(), b.result()]);
    const published = ra.acknowledged + rb.acknowledged;
    assert.ok(published <= 30_000);
    const rest = await (await s.start(30_000)).result();
    assert.equal(published + rest.acknowledged, 30_000);
    await assertEachRowOnce(s.app, range(1, 30_000));
  });

  test('a completed run reset from the UI: the re-run publishes only rows after the recorded position', async () => {
    const s = await outboxScenario();
    await insertMany(s.table, range(1, 500));
    await s.worker();
    const handle = await s.start(1000);
    const first = await handle.result();
    assert.equal(first.acknowledged, 500);
    await insertMany(s.table, range(501, 7));
    const again = await rerunFromFirstTask(client, handle, 'outbox suite: execute the same run again');
    assert.equal(again.acknowledged, 7);
    assert.equal(sourceOf(again).from, sourceOf(first).to);
    await assertEachRowOnce(s.app, range(1, 507));
  });

  test('a backfill of three past slots: each run takes the next rows, every row once', async () => {
    const s = await outboxScenario();
    await insertMany(s.table, range(1, 10));
    await s.worker();
    // Applied with the deployment's settings, as a user would: the schedule's runs name the outbox source.
    const env = envFor(s.config, {
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      EVENT_SOURCE: 'outbox',
      OUTBOX_TABLE: s.config.source.outbox.table,
    });
    const id = uniqueName('sched-outbox');
    schedules.push(id);
    const applied = await scheduleCli(['--id', id, 'apply', '--paused', '--event-count', '4'], env);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, new RegExp(`source ${s.config.source.name}\\)`));
    const step = 5 * 60_000;
    const from = new Date(Math.floor(Date.now() / step) * step - 4 * step);
    const to = new Date(from.getTime() + 3 * step - 1);
    const args = ['--id', id, 'backfill', '--from', from.toISOString(), '--to', to.toISOString(), '--wait'];
    const ran = await scheduleCli([...args, '--timeout', '120'], env);
    assert.equal(ran.code, 0, ran.stderr);
    const counts = [...ran.stdout.matchAll(/: Produced (\d+) events/g)].map((m) => Number(m[1]));
    assert.deepEqual(counts, [4, 4, 2], ran.stdout);
    await assertEachRowOnce(s.app, range(1, 10));
  });
});
