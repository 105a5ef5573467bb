// A run's identity through real schedules, as users meet it: two deployments, two schedules at the
// same instant, a raised count, and a backfill from outside our command of a slot the ledger can no
// longer answer for. Real Temporal, Kafka and worker; counted with a read_committed consumer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import kafkajs from 'kafkajs';
import type { RunSummary } from '../src/activities/types.ts';
import type { App } from '../src/app.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { scheduledWorkflowId } from '../schedules/produce-order-events.ts';
import { createTopicsFor, envFor, readDecoded, testApp, testConfig } from './support/app.ts';
import { scheduleCli } from './support/schedule-cli.ts';
import { plaintextKafka, uniqueName } from './support/services.ts';
import { startWorker, temporalClient, type TestWorker } from './support/worker.ts';

const STEP = 5 * 60_000;

describe('run identity through real schedules (Temporal, Kafka, the schedule command)', () => {
  let client: Client;
  const schedules: string[] = [];
  const workers: TestWorker[] = [];
  const apps: App[] = [];
  before(async () => {
    client = await temporalClient();
  });
  after(async () => {
    for (const id of schedules)
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await Promise.allSettled(workers.map((w) => w.stop()));
    await Promise.allSettled(apps.map((a) => a.close()));
    await client?.connection.close();
  });

  /** A deployment: its own topics, the ledger topic left at its default, a worker, the command's environment. */
  async function deployment() {
    const config = testConfig({ KAFKA_RUNS_TOPIC: '' });
    assert.equal(config.kafka.runsTopic, `${config.kafka.topic}.runs`, 'the default ledger follows the topic');
    await createTopicsFor(config);
    const app = testApp(config);
    apps.push(app);
    const worker = await startWorker(app);
    workers.push(worker);
    const env = envFor(config, { TEMPORAL_TASK_QUEUE: worker.taskQueue });
    delete env['KAFKA_RUNS_TOPIC'];
    return { config, app, env };
  }

  /** A paused schedule (only backfills start runs, whatever the clock does during the test). */
  async function pausedSchedule(env: NodeJS.ProcessEnv, eventCount: number): Promise<string> {
    const id = uniqueName('sched-id');
    schedules.push(id);
    // Created paused: a schedule applied then paused could fire at a slot boundary in between.
    const applied = await scheduleCli(['--id', id, 'apply', '--paused', '--event-count', String(eventCount)], env);
    assert.equal(applied.code, 0, applied.stderr);
    return id;
  }

  const lastSlot = () => new Date(Math.floor(Date.now() / STEP) * STEP - 2 * STEP);
  const backfill = (id: string, slot: Date, env: NodeJS.ProcessEnv) =>
    scheduleCli(
      [
        '--id',
        id,
        'backfill',
        '--from',
        slot.toISOString(),
        '--to',
        new Date(slot.getTime() + STEP).toISOString(),
      ].concat(['--wait', '--timeout', '120']),
      env,
    );
  const orderIds = async (app: App) =>
    (await readDecoded<OrderEvent>(app, app.config.kafka.topic)).map((r) => String(r.decoded.order_id));

  test('two deployments on two topics backfill the same slot: each topic has its events exactly once', async () => {
    const a = await deployment();
    const b = await deployment();
    const slot = lastSlot();
    const [idA, idB] = [await pausedSchedule(a.env, 7), await pausedSchedule(b.env, 7)];
    const ranA = await backfill(idA, slot, a.env);
    assert.equal(ranA.code, 0, ranA.stderr);
    assert.match(ranA.stdout, new RegExp(`: Produced 7 events to ${a.config.kafka.topic.replace(/\./g, '\\.')} `));
    const ranB = await backfill(idB, slot, b.env);
    assert.equal(ranB.code, 0, ranB.stderr);
    assert.match(ranB.stdout, new RegExp(`: Produced 7 events to ${b.config.kafka.topic.replace(/\./g, '\\.')} `));
    for (const d of [a, b]) {
      const ids = await orderIds(d.app);
      assert.equal(ids.length, 7, d.config.kafka.topic);
      assert.equal(new Set(ids).size, 7);
    }
  });

  test('two schedules on one topic fire at the same instant with different counts: both produce, no order id in common', async () => {
    const d = await deployment();
    const slot = lastSlot();
    const [every5, hourly] = [await pausedSchedule(d.env, 5), await pausedSchedule(d.env, 9)];
    const ran5 = await backfill(every5, slot, d.env);
    const ran9 = await backfill(hourly, slot, d.env);
    assert.match(ran5.stdout, /: Produced 5 events/, ran5.stderr);
    assert.match(ran9.stdout, /: Produced 9 events/, ran9.stderr);
    const ids = await orderIds(d.app);
    assert.equal(ids.length, 14);
    assert.equal(new Set(ids).size, 14);
  });

  test('a raised count and an old slot backfilled again: the run fails naming both requests, never "already produced"', async () => {
    const d = await deployment();
    const slot = lastSlot();
    const id = await pausedSchedule(d.env, 6);
    assert.match((await backfill(id, slot, d.env)).stdout, /: Produced 6 events/);
    const raised = await scheduleCli(['--id', id, 'apply', '--event-count', '11'], d.env);
    assert.equal(raised.code, 0, raised.stderr);
    const again = await backfill(id, slot, d.env);
    assert.equal(again.code, 1, again.stdout);
    assert.doesNotMatch(again.stdout, /Already produced/);
    assert.match(
      again.stderr,
      /RunRequestChangedError: .*already produced with \{"eventCount":6\}.*this run asks for \{"eventCount":11\}/,
    );
    assert.equal((await orderIds(d.app)).length, 6);
  });

  test("a backfill from Temporal itself of a slot older than the ledger's real retention is refused by the worker", async () => {
    const d = await deployment();
    // An operator shortened the ledger's retention to an hour; the backfill does not go through our command.
    const admin = plaintextKafka().admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: d.config.kafka.runsTopic,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact,delete' },
            { name: 'retention.ms', value: '3600000' },
          ],
        },
      ],
    });
    await admin.disconnect();
    const id = await pausedSchedule(d.env, 3);
    const slot = new Date(Math.floor(Date.now() / STEP) * STEP - 36 * STEP); // three hours ago
    await client.schedule
      .getHandle(id)
      .backfill({ start: new Date(slot.getTime() - 1), end: new Date(slot.getTime() + 1) });
    const handle = client.workflow.getHandle<() => Promise<RunSummary>>(scheduledWorkflowId(id, slot));
    let started = false;
    for (let i = 0; i < 100 && !started; i++) {
      started = await handle.describe().then(
        () => true,
        () => false,
      );
      if (!started) await new Promise((r) => setTimeout(r, 200));
    }
    await assert.rejects(handle.result(), (err: Error) => {
      assert.ok(err instanceof WorkflowFailedError, `${err.name}: ${err.message}`);
      let cause: unknown = err;
      while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
      assert.ok(cause instanceof ApplicationFailure);
      assert.equal(cause.type, 'LedgerRetentionError');
      assert.equal(cause.nonRetryable, true);
      assert.ok(cause.message.includes(slot.toISOString()), cause.message);
      assert.match(cause.message, /retention\.ms=3600000/);
      return true;
    });
    assert.deepEqual(await orderIds(d.app), []);
  });
});
