// The produceEvents activity (src/activities/index.ts) in MockActivityEnvironment: heartbeats and up-front refusal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type ActivityDeps } from '../src/activities/index.ts';
import type { RunRequest } from '../src/engine/index.ts';
import type { ProduceEventsInput } from '../src/activities/types.ts';
import { generatorSource } from '../src/sources/generator.ts';

const FOLLOW = { commitEveryRows: 10_000, segmentMs: 300_000, segmentsPerRun: 100, walHeartbeatMs: 10_000 };

describe('produceEvents activity (MockActivityEnvironment)', () => {
  const deps = (produceRun: ActivityDeps['produceRun']): ActivityDeps => ({
    produceRun,
    config: {
      maxEventCount: 100,
      activity: { startToCloseTimeoutMs: 60_000, heartbeatTimeoutMs: 800 },
      transactionMaxTimeoutMs: 900_000,
      follow: FOLLOW,
    },
    source: generatorSource,
  });
  const report = {
    topic: 't',
    acknowledged: 1,
    deadLettered: 0,
    dlqTopic: 'd',
    partitions: [],
    schemaId: 1,
    durationMs: 1,
  };
  const ids = { key: 'v2|t|x|workflow:wf', firstOrderId: '0', lastOrderId: '0' };
  const info = {
    workflowExecution: { workflowId: 'wf', runId: 'r' },
    heartbeatTimeoutMs: 800,
    startToCloseTimeoutMs: 60_000,
  };

  test('heartbeats on a timer from its first line, also while the engine is busy', async () => {
    const env = new MockActivityEnvironment(info);
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const activities = createActivities(
      deps(async (req: RunRequest) => {
        await new Promise((r) => setTimeout(r, 1000)); // a slow ledger read or commit
        assert.equal(req.transactionTimeoutMs, 60_000, 'the transaction is as long as an attempt may run');
        return { status: 'produced', report, ...ids };
      }),
    );
    await env.run((input: { eventCount: number; nominalTimeMs: number }) => activities.produceEvents(input), {
      eventCount: 1,
      nominalTimeMs: Date.now(),
    });
    assert.ok(beats >= 4, `only ${beats} heartbeats in 1 s with an 800 ms heartbeat timeout`);
  });

  test('an attempt longer than the broker allows a transaction is refused up front, not retried', async () => {
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    const env = new MockActivityEnvironment({ ...info, startToCloseTimeoutMs: 20 * 60_000 }, { logger: quiet });
    let called = false;
    const activities = createActivities(
      deps(async () => {
        called = true;
        return { status: 'produced', report, ...ids };
      }),
    );
    await assert.rejects(
      env.run((input: { eventCount: number; nominalTimeMs: number }) => activities.produceEvents(input), {
        eventCount: 1,
        nominalTimeMs: Date.now(),
      }),
      (err: Error) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'ConfigError');
        assert.equal(err.nonRetryable, true);
        assert.match(
          err.message,
          /longer than the longest Kafka transaction allowed \(KAFKA_TRANSACTION_MAX_TIMEOUT_MS/,
        );
        return true;
      },
    );
    assert.equal(called, false);
  });

  test("a run that names another source is refused non-retryably, naming both; one naming this worker's runs", async () => {
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    const env = new MockActivityEnvironment(info, { logger: quiet });
    let called = 0;
    const activities = createActivities(
      deps(async () => {
        called++;
        return { status: 'produced', report, ...ids };
      }),
    );
    const run = (source: string) =>
      env.run((input: ProduceEventsInput) => activities.produceEvents(input), {
        eventCount: 1,
        nominalTimeMs: Date.now(),
        source,
      });
    await assert.rejects(run('outbox:order_outbox'), (err: Error) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'SourceMismatchError');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /asks for source outbox:order_outbox, but this worker publishes source generator/);
      return true;
    });
    assert.equal(called, 0, 'nothing was produced');
    await run('generator');
    assert.equal(called, 1);
  });
});
