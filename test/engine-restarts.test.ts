// Transaction restarts in the engine (src/engine/restarts.ts, through createEngine) with a fake producer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ConcurrentTransactionError, ProducerFencedError, TransientError } from '../src/errors.ts';
import type { EventProducer } from '../src/kafka/event-producer.ts';
import type { RunLedger } from '../src/run-ledger/index.ts';
import { createLogger } from '../src/logger.ts';
import { createEngine } from '../src/engine/index.ts';
import { asRun } from './support/app.ts';
import { DEAD_LETTER_SCHEMA_FILE, ORDER_EVENT_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';

/** The real engine over a fake producer whose every transaction runs `inTransaction`. */
function engineOver(inTransaction: () => Promise<never>) {
  const producer = {
    client: 'kafkajs',
    ready: async () => undefined,
    partitionCounts: async (topics: string[]) => new Map(topics.map((t) => [t, 1])),
    topicLimits: async () => ({
      maxMessageBytes: 1_048_588,
      logAppendTime: false,
      beforeMaxMs: 1e15,
      afterMaxMs: 1e15,
    }),
    inTransaction,
    close: async () => undefined,
  } as unknown as EventProducer;
  const config = loadConfig({});
  return createEngine({
    config: { ...config.kafka, subject: 's', dlqSubject: 'd', transactionRestarts: 3 },
    producer,
    ledgers: { get: async () => ({}) as RunLedger },
    schemaIds: { idFor: async () => 1 },
    orderEventSchema: loadSchema(ORDER_EVENT_SCHEMA_FILE),
    deadLetterSchema: loadSchema(DEAD_LETTER_SCHEMA_FILE),
    logger: createLogger('error', () => undefined),
  });
}

describe('transaction restarts', () => {
  test('an attempt cancelled during the pause before a restart does not open (and so fence) again', async () => {
    let opened = 0;
    let cancelled = false;
    const engine = engineOver(async () => {
      opened++;
      // The cancellation reaches the attempt while it waits to restart (250 ms).
      setTimeout(() => (cancelled = true), 50);
      throw new TransientError('a partition leader moved');
    });
    await assert.rejects(
      engine.produceRun(
        asRun({
          identity: { origin: { workflow: 'wf' }, nominalTimeMs: 0 },
          params: { eventCount: 1 },
          events: () => [],
          run: { workflowId: 'wf', runId: 'r', attempt: 1 },
          transactionTimeoutMs: 60_000,
          throwIfCancelled: () => {
            if (cancelled) throw new Error('activity cancelled');
          },
        }),
      ),
      /activity cancelled/,
    );
    assert.equal(opened, 1, 'the cancelled attempt did not open its run transaction again');
  });

  test('a fence or another opener of the transactional id is not restarted within the attempt (it would fence back)', async () => {
    for (const err of [
      new ProducerFencedError('a newer attempt took over'),
      new ConcurrentTransactionError('another producer is opening'),
    ]) {
      let opened = 0;
      const engine = engineOver(async () => {
        opened++;
        throw err;
      });
      await assert.rejects(
        engine.produceRun(
          asRun({
            identity: { origin: { workflow: 'wf' }, nominalTimeMs: 0 },
            params: { eventCount: 1 },
            events: () => [],
            run: { workflowId: 'wf', runId: 'r', attempt: 1 },
            transactionTimeoutMs: 60_000,
          }),
        ),
        (e: unknown) => e === err,
      );
      assert.equal(opened, 1, `${err.name}: opened once, not restarted`);
    }
  });
});
