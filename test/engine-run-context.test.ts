// What each run reads first and how its transaction is asked for (src/engine/run-context.ts), with a
// fake producer and schema ids: the right subjects, topics and limits, nothing more.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EncodeContext } from '../src/engine/batch-encoder.ts';
import { encodingFacts, transactionOptions, type EngineContext } from '../src/engine/run-context.ts';

type TopicLimits = EncodeContext['limits']['events'];

const limitsOf = (maxMessageBytes: number): TopicLimits => ({
  maxMessageBytes,
  logAppendTime: false,
  beforeMaxMs: 1000,
  afterMaxMs: 2000,
});

function fakeEngine() {
  const asked = { ids: [] as [string, string][], partitions: [] as string[][], limits: [] as string[] };
  const ids: Record<string, number> = { 'events-value': 41, 'events.dlq-value': 42 };
  const observe = { committed: () => undefined, aborted: () => undefined };
  const engine = {
    config: {
      topic: 'events',
      dlqTopic: 'events.dlq',
      runsTopic: 'events.runs',
      subject: 'events-value',
      dlqSubject: 'events.dlq-value',
    },
    orderEventSchema: { text: '{"order":1}' },
    deadLetterSchema: { text: '{"dead":1}' },
    schemaIds: {
      idFor: async (subject: string, schema: string) => {
        asked.ids.push([subject, schema]);
        return ids[subject]!;
      },
    },
    producer: {
      partitionCounts: async (topics: string[]) => {
        asked.partitions.push(topics);
        return new Map(topics.map((t, i) => [t, i + 3]));
      },
      topicLimits: async (topic: string) => {
        asked.limits.push(topic);
        return limitsOf(topic === 'events' ? 1_000_000 : 500_000);
      },
    },
    observe,
  } as unknown as EngineContext;
  return { engine, asked, observe };
}

describe('encodingFacts', () => {
  test("both schemas' ids under their subjects, the three topics' partition counts, the two limits", async () => {
    const { engine, asked } = fakeEngine();
    const facts = await encodingFacts(engine);
    assert.deepEqual(facts, {
      schemaId: 41,
      dlqSchemaId: 42,
      partitions: new Map([
        ['events', 3],
        ['events.dlq', 4],
        ['events.runs', 5],
      ]),
      limits: { events: limitsOf(1_000_000), dlq: limitsOf(500_000) },
    });
    assert.deepEqual(asked.ids.sort(), [
      ['events-value', '{"order":1}'],
      ['events.dlq-value', '{"dead":1}'],
    ]);
    assert.deepEqual(asked.partitions, [['events', 'events.dlq', 'events.runs']], 'one lookup for all three');
    assert.deepEqual(asked.limits.sort(), ['events', 'events.dlq'], 'the ledger topic has no limits to read');
  });

  test('a failed lookup fails the facts (a missing topic is not papered over)', async () => {
    const { engine } = fakeEngine();
    engine.producer.partitionCounts = () => Promise.reject(new Error('topic events.runs does not exist'));
    await assert.rejects(encodingFacts(engine), /events\.runs does not exist/);
  });
});

describe('transactionOptions', () => {
  test("the run's transactional id and timeout, with the engine's observer", () => {
    const { engine, observe } = fakeEngine();
    const options = transactionOptions(engine, 'order-events-producer|v2|events|slot', {
      transactionTimeoutMs: 90_000,
    });
    assert.deepEqual(options, { transactionalId: 'order-events-producer|v2|events|slot', timeoutMs: 90_000, observe });
    assert.equal(options.observe, observe);
    assert.equal('throwIfCancelled' in options, false, 'no cancellation check unless the request has one');
  });

  test("the request's cancellation check is passed on as it is", () => {
    const { engine } = fakeEngine();
    const throwIfCancelled = () => undefined;
    const options = transactionOptions(engine, 'id', { transactionTimeoutMs: 1, throwIfCancelled });
    assert.equal(options.throwIfCancelled, throwIfCancelled);
  });
});
