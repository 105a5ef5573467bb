// The workflow, activity, worker and schedule against the real Temporal server and Kafka.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities/index.ts';
import type { ProduceEventsResult, RunSummary } from '../src/activities/types.ts';
import type { App } from '../src/app.ts';
import { TransientError } from '../src/errors.ts';
import type { RunRequest } from '../src/engine/index.ts';
import { orderIdBase } from '../src/run-ledger/index.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors.ts';
import { applySchedule } from '../schedules/apply.ts';
import { produceOrderEventsSchedule } from '../schedules/produce-order-events.ts';
import { createTopicsFor, envFor, putSecret, readDecoded, testApp, testConfig } from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { insertRows, outboxConfig, pgClient, range } from './support/outbox.ts';
import { outboxTable } from '../src/sources/outbox/table.ts';
import { generatorSource } from '../src/sources/generator.ts';
import { readSecretJson, temporalAddress, temporalCli, uniqueName } from './support/services.ts';
import { startWorker, temporalClient, workflowBundle, type TestWorker } from './support/worker.ts';

const run = promisify(execFile);
let client: Client;
let app: App;
let worker: TestWorker;

before(async () => {
  client = await temporalClient();
  const config = testConfig();
  await createTopicsFor(config);
  app = testApp(config);
  await workflowBundle();
  worker = await startWorker(app);
});

after(async () => {
  await worker?.stop();
  await app?.close();
  await client?.connection.close();
});

const execute = (taskQueue: string, eventCount: unknown, workflowId = uniqueName('wf')) =>
  client.workflow.execute('produceOrderEventsWorkflow', {
    taskQueue,
    workflowId,
    args: [{ eventCount }],
  }) as Promise<RunSummary>;

async function orderIds(topic: string): Promise<string[]> {
  return (await readDecoded<OrderEvent>(app, topic)).map((r) => String(r.decoded.order_id));
}

function applicationFailure(err: unknown): ApplicationFailure {
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
  assert.ok(cause instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(cause)}`);
  return cause;
}

describeEachKafkaClient('produceOrderEventsWorkflow', (kafkaClient) => {
  // A worker on this backend for the tests that need no special one.
  let shared: TestWorker;
  let sharedApp: App;
  before(async () => {
    const config = testConfig();
    await createTopicsFor(config);
    sharedApp = testApp(config);
    shared = await startWorker(sharedApp);
  });
  after(async () => {
    await shared?.stop();
    await sharedApp?.close();
  });

  test('produces eventCount events and returns a readable summary; the history shows the retry policy', async () => {
    const workflowId = uniqueName('wf-policy');
    const summary = await execute(shared.taskQueue, 4, workflowId);
    assert.equal(summary.acknowledged, 4);
    assert.equal(summary.eventCount, 4);
    // Offset ranges where the backend learns offsets (kafkajs), counts per partition otherwise.
    const partitions = kafkaClient === 'kafkajs' ? /\(p\d+:\d+-\d+/ : /\(p\d+:\d+ events?/;
    assert.match(summary.summary, new RegExp(`^Produced 4 events to t-.*\\.events ${partitions.source}`));

    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )?.activityTaskScheduledEventAttributes;
    assert.equal(scheduled?.activityType?.name, 'produceEvents');
    const policy = scheduled?.retryPolicy;
    assert.equal(policy?.maximumAttempts, 4);
    assert.equal(Number(policy?.initialInterval?.seconds), 5);
    assert.equal(policy?.backoffCoefficient, 1);
    assert.deepEqual([...(policy?.nonRetryableErrorTypes ?? [])].sort(), [...NON_RETRYABLE_ERROR_TYPES].sort());
    assert.ok(Number(scheduled?.heartbeatTimeout?.seconds) > 0, 'a heartbeat timeout is set');
  });

  test('transient failures on attempts 1 and 2 (the second after its commit) end with each event once', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const flakyApp = testApp(config);
    // The real engine, wrapped: attempt 1 fails before sending, attempt 2 after its commit.
    const flaky = await startWorker(flakyApp, {
      produceRun: async (request) => {
        if (request.run.attempt === 1) throw new TransientError('injected: broker hiccup before sending');
        const outcome = await flakyApp.engine.produceRun(request);
        if (request.run.attempt === 2) throw new TransientError('injected: worker lost after commit');
        return outcome;
      },
    });
    try {
      const workflowId = uniqueName('wf-flaky');
      const summary = await execute(flaky.taskQueue, 6, workflowId);
      assert.equal(summary.acknowledged, 6);
      assert.equal(summary.alreadyCommitted, true, 'attempt 3 found the run committed by attempt 2');
      const ids = await orderIds(config.kafka.topic);
      assert.equal(ids.length, 6);
      assert.equal(new Set(ids).size, 6, 'no order_id twice');

      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const started = history.events?.find(
        (e) => e.activityTaskStartedEventAttributes,
      )?.activityTaskStartedEventAttributes;
      assert.equal(started?.attempt, 3);
    } finally {
      await flaky.stop();
      await flakyApp.close();
    }
  });

  test('a non-retryable engine error stops after one attempt', async () => {
    const config = testConfig(); // topics deliberately not created
    const brokenApp = testApp(config);
    const broken = await startWorker(brokenApp);
    try {
      const workflowId = uniqueName('wf-missing-topic');
      const err = await execute(broken.taskQueue, 3, workflowId).catch((e: unknown) => e);
      const failure = applicationFailure(err);
      assert.equal(failure.type, 'TopicNotFoundError');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, new RegExp(`topic ${config.kafka.topic.replace(/\./g, '\\.')} does not exist`));
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const started = history.events?.find(
        (e) => e.activityTaskStartedEventAttributes,
      )?.activityTaskStartedEventAttributes;
      assert.equal(started?.attempt, 1);
    } finally {
      await broken.stop();
      await brokenApp.close();
    }
  });

  test('invalid input fails at once with a clear message and schedules no activity', async () => {
    const cases: [unknown, string][] = [
      ...[0, -3, 2.5, 'ten', 1001, null].map((n): [unknown, string] => [
        { eventCount: n },
        `eventCount must be an integer from 1 to 1000, got ${JSON.stringify(n)}`,
      ]),
      [{ count: 5 }, 'the input has unknown field(s) "count"; its fields are "eventCount" and "source"'],
      [
        { eventCount: 5, extra: true },
        'the input has unknown field(s) "extra"; its fields are "eventCount" and "source"',
      ],
      [
        { eventCount: 5, source: 'no spaces please' },
        'source must be a source\'s name ("generator", or an outbox\'s OUTBOX_SOURCE_NAME such as "outbox:order_outbox"), got "no spaces please"',
      ],
      ['5', 'the input must be an object like {"eventCount": 10}, got "5"'],
      [[5], 'the input must be an object like {"eventCount": 10}, got [5]'],
      [null, 'the input must be an object like {"eventCount": 10}, got null'],
    ];
    for (const [input, message] of cases) {
      const workflowId = uniqueName('wf-invalid');
      const run = client.workflow.execute('produceOrderEventsWorkflow', {
        taskQueue: shared.taskQueue,
        workflowId,
        args: [input],
      });
      const failure = applicationFailure(await run.catch((e: unknown) => e));
      assert.equal(failure.type, 'InvalidInputError', JSON.stringify(input));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.message, message);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      assert.equal(
        history.events?.some((e) => e.activityTaskScheduledEventAttributes),
        false,
      );
    }
  });

  test('no secret appears in any history or failure message of this suite, a refused login included', async () => {
    const suiteStart = new Date(Date.now() - 15 * 60_000).toISOString();
    const registry = await readSecretJson('confluent/schema-registry');
    const kafka = await readSecretJson('confluent/kafka-cluster');
    const wrong = `wrong-kafka-password-${uniqueName('pw')}`;
    const secretName = uniqueName('test/bad-kafka');
    await putSecret(secretName, { ...kafka, api_secret: wrong });
    const config = testConfig({ KAFKA_SECRET_NAME: secretName });
    await createTopicsFor(config);
    const badApp = testApp(config);
    const bad = await startWorker(badApp);
    try {
      const failure = applicationFailure(await execute(bad.taskQueue, 2).catch((e: unknown) => e));
      assert.equal(failure.type, 'AuthenticationError');
      assert.doesNotMatch(failure.message, new RegExp(wrong));
    } finally {
      await bad.stop();
      await badApp.close();
    }
    const secrets = [kafka['api_secret']!, registry['api_secret']!, wrong];
    let scanned = 0;
    for await (const wf of client.workflow.list({ query: `StartTime > "${suiteStart}"` })) {
      const history = JSON.stringify(
        await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory(),
        (_k, v: unknown) =>
          typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
      );
      for (const secret of secrets) assert.ok(!history.includes(secret), `a secret in the history of ${wf.workflowId}`);
      scanned++;
    }
    assert.ok(scanned >= 5, `scanned ${scanned} histories`);
  });

  test("the source travels with the run: an outbox schedule's run is refused by a generator worker, and the reverse", async () => {
    const outbox = await outboxConfig();
    await createTopicsFor(outbox);
    const outboxApp = testApp(outbox);
    const outboxWorker = await startWorker(outboxApp);
    const table = outboxTable(outbox.source.outbox.table).table;
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 3));
      /** The run a schedule applied for `source` starts: its workflow input, as `schedule apply` writes it. */
      const runOf = (source: string, taskQueue: string) => {
        const args = produceOrderEventsSchedule({ taskQueue, eventCount: 5, source }).action.args!;
        assert.deepEqual(args, [{ eventCount: 5, source }]);
        return client.workflow.execute('produceOrderEventsWorkflow', {
          taskQueue,
          workflowId: uniqueName('wf-src'),
          args,
        }) as Promise<RunSummary>;
      };
      const cases = [
        { asked: outbox.source.name, mine: 'generator', queue: shared.taskQueue },
        { asked: 'generator', mine: outbox.source.name, queue: outboxWorker.taskQueue },
      ];
      for (const { asked, mine, queue } of cases) {
        const failure = applicationFailure(await runOf(asked, queue).catch((e: unknown) => e));
        assert.equal(failure.type, 'SourceMismatchError');
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, new RegExp(`asks for source ${asked}, but this worker publishes source ${mine}`));
      }
      assert.equal((await orderIds(outbox.kafka.topic)).length, 0, "no sample written to the outbox's topic");
      const rows = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${outbox.source.outbox.table}_relay`);
      assert.equal(rows.rows[0]?.n, '0', 'the outbox was not published');
      // Each on its own worker, the same inputs run.
      const published = await runOf(outbox.source.name, outboxWorker.taskQueue);
      assert.equal(published.acknowledged, 3);
      assert.equal((await runOf('generator', shared.taskQueue)).acknowledged, 5);
    } finally {
      await db.end();
      await outboxWorker.stop();
      await outboxApp.close();
    }
  });

  test('the manual start command from the README works with the real temporal binary', async () => {
    const { stdout } = await run(temporalCli(), [
      'workflow',
      'start',
      '--address',
      temporalAddress(),
      '--task-queue',
      shared.taskQueue,
      '--type',
      'produceOrderEventsWorkflow',
      '--input',
      '{"eventCount":5}',
    ]);
    const workflowId = /WorkflowId\s+(\S+)/.exec(stdout)?.[1];
    assert.ok(workflowId, `no WorkflowId in: ${stdout}`);
    const summary = (await client.workflow.getHandle(workflowId).result()) as RunSummary;
    assert.equal(summary.acknowledged, 5);
    assert.equal(summary.eventCount, 5);
  });
});

describe('schedule', () => {
  test('apply is idempotent: created, then unchanged, then updated when the definition changes', async () => {
    const scheduleId = uniqueName('sched-apply');
    const options = (eventCount: number) =>
      produceOrderEventsSchedule({ scheduleId, taskQueue: worker.taskQueue, eventCount, paused: true });
    try {
      assert.equal(await applySchedule(client, options(10)), 'created');
      assert.equal(await applySchedule(client, options(10)), 'unchanged');
      assert.equal(await applySchedule(client, options(12)), 'updated');
      const d = await client.schedule.getHandle(scheduleId).describe();
      assert.deepEqual((d.action as { args: unknown[] }).args, [{ eventCount: 12 }]);
      assert.equal(d.policies.overlap, 'SKIP');
      assert.equal(d.state.paused, true, 'update keeps the paused state');
    } finally {
      await client.schedule.getHandle(scheduleId).delete();
    }
  });

  test('a schedule-triggered run produces exactly eventCount events, timed at the scheduled time', async () => {
    const scheduleId = uniqueName('sched-run');
    const config = testConfig();
    await createTopicsFor(config);
    const schedApp = testApp(config);
    const schedWorker = await startWorker(schedApp);
    const handle = await client.schedule.create(
      produceOrderEventsSchedule({ scheduleId, taskQueue: schedWorker.taskQueue, eventCount: 7, paused: true }),
    );
    try {
      await handle.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && !workflowId; i++) {
        workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(workflowId, 'the trigger started no run');
      const summary = (await client.workflow.getHandle(workflowId).result()) as RunSummary;
      assert.equal(summary.acknowledged, 7);
      // The schedule names each run after its scheduled time, which is also the events' time.
      assert.equal(workflowId, `${scheduleId}-${summary.nominalTime.replace(/\.000Z$/, 'Z')}`);
      const records = await readDecoded<OrderEvent>(schedApp, config.kafka.topic);
      assert.equal(records.length, 7);
      assert.ok(records.every((r) => r.decoded.created_at === Date.parse(summary.nominalTime)));
    } finally {
      await handle.delete();
      await schedWorker.stop();
      await schedApp.close();
    }
  });
});

describe('produceEvents activity (MockActivityEnvironment, fake engine)', () => {
  async function idsFor(workflowId: string, nominalTimeMs: number, attempt = 1): Promise<string[]> {
    const seen: string[] = [];
    const activities = createActivities({
      produceRun: async (req: RunRequest) => {
        const base = orderIdBase({ topic: 't', origin: req.origin!, nominalTimeMs: req.nominalTimeMs });
        assert.equal(req.source.kind, 'run');
        const events = req.source.kind === 'run' ? req.source.events({ ...req, firstOrderId: base }) : [];
        for await (const e of events) seen.push(String((e as OrderEvent).order_id));
        const report = {
          topic: 't',
          acknowledged: seen.length,
          deadLettered: 0,
          dlqTopic: 'd',
          partitions: [],
          schemaId: 1,
          durationMs: 0,
        };
        const last = String(base + BigInt(req.eventCount - 1));
        return { status: 'produced', report, key: 'k', firstOrderId: String(base), lastOrderId: last };
      },
      config: {
        maxEventCount: 100,
        activity: { startToCloseTimeoutMs: 60_000, heartbeatTimeoutMs: 10_000 },
        transactionMaxTimeoutMs: 900_000,
        follow: { commitEveryRows: 10_000, segmentMs: 300_000, segmentsPerRun: 100, walHeartbeatMs: 10_000 },
      },
      source: generatorSource,
    });
    const env = new MockActivityEnvironment({
      attempt,
      workflowExecution: { workflowId, runId: uniqueName('run') },
    });
    const result: ProduceEventsResult = await env.run(
      (input: { eventCount: number; nominalTimeMs: number }) => activities.produceEvents(input),
      { eventCount: 20, nominalTimeMs },
    );
    assert.equal(result.firstOrderId, seen[0]);
    return seen;
  }

  test('two runs of the same schedule time produce the same event ids; different runs do not collide', async () => {
    const at = Date.parse('2026-11-27T10:05:00Z');
    const first = await idsFor('produce-order-events-2026-11-27T10:05:00Z', at);
    const again = await idsFor('produce-order-events-2026-11-27T10:05:00Z', at, 2);
    assert.deepEqual(again, first);
    const next = await idsFor('produce-order-events-2026-11-27T10:10:00Z', at + 300_000);
    const manual = await idsFor('manual-run', at + 1);
    assert.equal(new Set([...first, ...next, ...manual]).size, 60);
  });
});

describeEachKafkaClient('worker process', () => {
  test('SIGTERM finishes the in-flight run, closes the producer and exits 0 by itself', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const taskQueue = uniqueName('tq-proc');
    const env = envFor(config, { TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'info' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(child, 'exit');
    try {
      for (let i = 0; i < 300 && !output.includes('"message":"worker ready"'); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(output, /"message":"worker ready"/);
      const handle = await client.workflow.start('produceOrderEventsWorkflow', {
        taskQueue,
        workflowId: uniqueName('wf-shutdown'),
        args: [{ eventCount: 20_000 }],
      });
      // Stop the worker while the activity is sending.
      for (let i = 0; i < 200; i++) {
        const d = await handle.describe();
        if ((d.raw.pendingActivities?.length ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, output.slice(-2000));
      assert.match(output, /"message":"kafka producer closed"/);
      // The activity finished before the worker left; a fresh worker completes the workflow.
      const successor = await startWorker(app, {}, 1_000_000, taskQueue);
      try {
        const summary = (await handle.result()) as RunSummary;
        assert.equal(summary.acknowledged, 20_000);
        assert.equal(summary.alreadyCommitted, false);
      } finally {
        await successor.stop();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
