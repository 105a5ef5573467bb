// The fault suite: real runs through Temporal against the real stack, faults injected from outside
// by signalling recorded pids (worker processes this file starts, the stack's broker, registry and
// Secrets Manager). Each scenario counts the run's events with a read_committed consumer: every
// order_id exactly once. Timeouts are shortened through settings so the suite takes minutes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, afterEach, before, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RunSummary } from '../src/activities/types.ts';
import { attemptsOf, createFaultKit, midSend } from './support/fault-kit.ts';
import { describeEachKafkaClient, type KafkaClient } from './support/kafka-clients.ts';
import { stackPid } from './support/services.ts';
import { temporalClient } from './support/worker.ts';
import { rerunFromFirstTask } from './support/workflow-reset.ts';

const run = promisify(execFile);
/**
 * Events in the runs that are struck mid-send: enough for a send of a few seconds on each backend
 * (librdkafka sends the same run several times faster).
 */
const MID_SEND_EVENTS: Record<KafkaClient, number> = { kafkajs: 40_000, librdkafka: 200_000 };

let client: Client;
let kit: ReturnType<typeof createFaultKit>;
before(async () => {
  client = await temporalClient();
  kit = createFaultKit(client, 'artifacts/fault-suite.json');
});
afterEach(() => kit?.release());
after(async () => {
  await kit?.close();
  await client?.connection.close();
});
const scenario = (env?: Record<string, string>) => kit.scenario(env);

describeEachKafkaClient('fault suite (real processes killed and frozen)', (kafkaClient) => {
  const EVENTS = MID_SEND_EVENTS[kafkaClient];
  const tally = (name: string, ...rest: Parameters<typeof kit.tally> extends [string, ...infer R] ? R : never) =>
    kit.tally(`${name} [${kafkaClient}]`, ...rest);

  test('worker killed -9 mid-send; a new worker finishes the run', async () => {
    const s = await scenario();
    const first = await s.worker();
    const handle = await s.start(EVENTS);
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
    const first = await s.worker({}, 'pause-after-commit');
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
    const handle = await s.start(EVENTS);
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
    // The zombie resumes mid-send and is refused: its next write meets the successor's epoch.
    await running.waitFor(/"message":"fenced: a newer attempt of this run took over/, 30_000);
    assert.ok(running.output().length > beforeResume, 'the zombie resumed');
    assert.doesNotMatch(running.output().slice(beforeResume), /"message":"events produced"/);
    assert.ok((await attemptsOf(handle)) >= 2);
    await tally('zombie worker (SIGSTOP past heartbeat timeout, SIGCONT)', s.app, summary, recoverMs);
  });

  test('broker killed -9 mid-run and restarted: the run completes, each event once', async () => {
    const s = await scenario();
    await s.worker();
    const handle = await s.start(EVENTS);
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
    const again = await rerunFromFirstTask(client, handle, 'fault suite: execute the same run again');
    assert.equal(again.nominalTime, first.nominalTime, 'a reset keeps the run its nominal time');
    assert.equal(again.alreadyCommitted, true);
    assert.match(again.summary, /^Already produced 3000 events/);
    await tally('same run executed twice (reset)', s.app, first, 0);
  });
});
