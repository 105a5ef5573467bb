// The fault suite: real runs through Temporal against the real stack, faults injected from outside
// by signalling recorded pids (worker processes this file starts, the stack's broker, registry and
// Secrets Manager). Each scenario counts the run's events with a read_committed consumer: every
// order_id exactly once. Timeouts are shortened through settings so the suite takes minutes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { orderIdFor } from '../src/activities/order-events-source.ts';
import type { RunSummary } from '../src/activities/types.ts';
import type { App } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { createHighWatermarks } from '../src/kafka/high-watermarks.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { createTopicsFor, readDecoded, testApp, testConfig } from './support/app.ts';
import { plaintextKafka, stackPid, uniqueName } from './support/services.ts';
import { temporalClient } from './support/worker.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const run = promisify(execFile);
/** Short heartbeat timeout (so a dead or frozen worker is replaced in seconds); every bound within half of it. */
const FAST = {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS: '6000',
  ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: '120000',
  KAFKA_CONNECTION_TIMEOUT_MS: '3000',
  KAFKA_REQUEST_TIMEOUT_MS: '3000',
  KAFKA_SEND_TIMEOUT_MS: '3000',
  KAFKA_LEDGER_TIMEOUT_MS: '3000',
  REGISTRY_TIMEOUT_MS: '2000',
  SECRETS_TIMEOUT_MS: '1000',
  // Small batches: a 40,000-event run takes a few seconds, long enough to strike mid-send.
  KAFKA_BATCH_MAX_MESSAGES: '200',
};
const EVENTS = 40_000;

let client: Client;
const workers: WorkerProcess[] = [];
const apps: App[] = [];
const table: {
  scenario: string;
  expected: number;
  seen: number;
  duplicates: number;
  missing: number;
  recoverMs: number;
}[] = [];

before(async () => {
  client = await temporalClient();
});
after(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await Promise.allSettled(apps.map((a) => a.close()));
  await client?.connection.close();
  mkdirSync('artifacts', { recursive: true });
  writeFileSync('artifacts/fault-suite.json', `${JSON.stringify(table, null, 2)}\n`);
});

async function scenario(extraEnv: Record<string, string> = {}) {
  const config = testConfig({ ...FAST, ...extraEnv });
  await createTopicsFor(config);
  const app = testApp(config);
  apps.push(app);
  const taskQueue = uniqueName('tq-fault');
  const worker = async (env: Record<string, string> = {}) => {
    const w = await startWorkerProcess(config, taskQueue, { ...FAST, ...extraEnv, ...env });
    workers.push(w);
    return w;
  };
  const start = (eventCount = EVENTS) =>
    client.workflow.start('produceOrderEventsWorkflow', {
      taskQueue,
      workflowId: uniqueName('wf-fault'),
      args: [{ eventCount }],
    }) as Promise<WorkflowHandle<() => Promise<RunSummary>>>;
  return { config, app, worker, start };
}

/** Waits until records of the run are on the events topic, uncommitted: the attempt is mid-send. */
async function midSend(config: Config): Promise<void> {
  const marks = createHighWatermarks(plaintextKafka());
  try {
    for (let i = 0; i < 400; i++) {
      const ends = await marks.ends(config.kafka.topic);
      if ([...ends.values()].reduce((a, b) => a + b, 0) > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the run never started sending');
  } finally {
    await marks.close();
  }
}

/** Counts the run's order ids (read_committed) against the ids it must have: each exactly once. */
async function tally(name: string, app: App, summary: RunSummary, recoverMs: number) {
  const nominal = Date.parse(summary.nominalTime);
  const seen = (await readDecoded<OrderEvent>(app, app.config.kafka.topic)).map((r) => String(r.decoded.order_id));
  const counts = new Map<string, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  let missing = 0;
  for (let i = 0; i < summary.eventCount; i++) if (!counts.has(String(orderIdFor(nominal, i)))) missing++;
  const duplicates = seen.length - counts.size;
  table.push({ scenario: name, expected: summary.eventCount, seen: seen.length, duplicates, missing, recoverMs });
  assert.equal(duplicates, 0, `${name}: ${duplicates} duplicate events`);
  assert.equal(missing, 0, `${name}: ${missing} missing events`);
  assert.equal(seen.length, summary.eventCount);
}

async function attemptsOf(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (
    history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt ?? 0
  );
}

describe('fault suite (real processes killed and frozen)', () => {
  test('worker killed -9 mid-send; a new worker finishes the run', async () => {
    const s = await scenario();
    const first = await s.worker();
    const handle = await s.start();
    await midSend(s.config);
    first.signal('SIGKILL');
    const killedAt = Date.now();
    await s.worker();
    const summary = await handle.result();
    assert.equal(summary.alreadyCommitted, false);
    assert.ok((await attemptsOf(handle)) >= 2);
    await tally('worker killed -9 mid-send', s.app, summary, Date.now() - killedAt);
  });

  test('worker killed -9 right after its commit; the next attempt finds the slot in the ledger', async () => {
    const s = await scenario();
    const first = await s.worker({ TEST_FAULT_INJECTION: 'pause-after-commit' });
    const handle = await s.start(5_000);
    await first.waitFor(/fault injected: paused after commit/);
    first.signal('SIGKILL');
    const killedAt = Date.now();
    await s.worker();
    const summary = await handle.result();
    assert.equal(summary.alreadyCommitted, true, 'the retry found the committed slot and sent nothing');
    assert.match(summary.summary, /^Already produced 5000 events/);
    await tally('worker killed -9 after commit', s.app, summary, Date.now() - killedAt);
  });

  test('the worker running the attempt frozen past the heartbeat timeout, then resumed as a zombie, is fenced', async () => {
    // One activity slot per worker: the worker running the attempt has no poll outstanding, so the
    // server cannot hand the retry to the frozen process (a frozen worker's open polls swallow tasks).
    const s = await scenario({ TEMPORAL_MAX_CONCURRENT_ACTIVITIES: '1' });
    const a = await s.worker();
    const b = await s.worker();
    const handle = await s.start();
    await midSend(s.config);
    const desc = await handle.describe();
    const identity = desc.raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const running = [a, b].find((w) => identity.startsWith(w.identity));
    assert.ok(running, `no worker of ours runs the attempt (identity ${identity})`);
    running.signal('SIGSTOP');
    const frozenAt = Date.now();
    const other = running === a ? b : a;
    const summary = await handle.result().catch((err: unknown) => {
      throw new Error(`run failed; the other worker's output:\n${other.output().slice(-4000)}`, { cause: err });
    }); // the other worker's attempt, after the heartbeat timeout
    const recoverMs = Date.now() - frozenAt;
    const beforeResume = running.output().length;
    running.signal('SIGCONT');
    // The zombie resumes mid-send; its writes and commit are refused, so it never reports a commit.
    await running.waitFor(/"message":"Activity failed"/, 15_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    assert.doesNotMatch(running.output().slice(beforeResume), /"message":"events produced"/);
    assert.ok((await attemptsOf(handle)) >= 2);
    await tally('zombie worker (SIGSTOP past heartbeat timeout, SIGCONT)', s.app, summary, recoverMs);
  });

  test('broker killed -9 mid-run and restarted: the run completes, each event once', async () => {
    const s = await scenario();
    await s.worker();
    const handle = await s.start();
    await midSend(s.config);
    process.kill(stackPid('kafka'), 'SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    await run('bash', ['stack/stack.sh', 'up'], { timeout: 180_000 });
    const summary = await handle.result();
    await tally('broker killed -9 mid-run, restarted', s.app, summary, Date.now() - killedAt);
  });

  for (const service of ['secrets', 'registry'] as const) {
    test(`${service === 'secrets' ? 'Secrets Manager' : 'the registry'} frozen while a fresh worker starts a run: retried, then each event once`, async () => {
      const s = await scenario();
      const pid = stackPid(service);
      process.kill(pid, 'SIGSTOP');
      const frozenAt = Date.now();
      let handle: WorkflowHandle<() => Promise<RunSummary>>;
      try {
        await s.worker();
        handle = await s.start(2_000);
        // Attempt 1 fails (retryably) while the service is frozen.
        for (let i = 0; i < 200; i++) {
          const d = await handle.describe();
          if (d.raw.pendingActivities?.[0]?.lastFailure) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const failure = (await handle.describe()).raw.pendingActivities?.[0]?.lastFailure;
        assert.ok(failure, 'attempt 1 failed while the service was frozen');
        assert.equal(failure.applicationFailureInfo?.nonRetryable ?? false, false);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const summary = await handle.result();
      await tally(`${service} frozen at run start`, s.app, summary, Date.now() - frozenAt);
    });
  }

  test('the same run executed twice (reset from the UI after it completed) produces nothing the second time', async () => {
    const s = await scenario();
    await s.worker();
    const handle = await s.start(3_000);
    const first = await handle.result();
    assert.equal(first.alreadyCommitted, false);
    const history = await handle.fetchHistory();
    const firstTask = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
    const { runId } = await client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId, runId: (await handle.describe()).runId },
      workflowTaskFinishEventId: firstTask!.eventId,
      reason: 'fault suite: execute the same run again',
      requestId: uniqueName('reset'),
    });
    const again = (await client.workflow.getHandle(handle.workflowId, runId ?? undefined).result()) as RunSummary;
    assert.equal(again.nominalTime, first.nominalTime, 'a reset keeps the run its nominal time');
    assert.equal(again.alreadyCommitted, true);
    assert.match(again.summary, /^Already produced 3000 events/);
    await tally('same run executed twice (reset)', s.app, first, 0);
  });
});
