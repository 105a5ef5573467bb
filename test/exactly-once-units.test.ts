// Unit tests with fakes for the exactly-once pieces: error classification, the schema-id cache
// under a race, the run ledger's record, the timeouts check, and the activity's heartbeat timer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import kafkajs from 'kafkajs';
import { createActivities, type ActivityDeps } from '../src/activities/index.ts';
import { loadConfig } from '../src/config/index.ts';
import {
  AuthenticationError,
  ConfigError,
  KafkaRequestRejectedError,
  LedgerError,
  ProducerFencedError,
  SchemaNotRegisteredError,
  TransientError,
} from '../src/errors.ts';
import { producerErrorFromKafkajs } from '../src/kafka/errors.ts';
import type { EventProducer } from '../src/kafka/producer.ts';
import { createLogger } from '../src/logger.ts';
import { createEngine, type RunRequest } from '../src/engine/index.ts';
import { DEAD_LETTER_SCHEMA_FILE, ORDER_EVENT_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';
import {
  decodeLedgerRecord,
  encodeLedgerRecord,
  legacyKey,
  orderIdBase,
  runKey,
  runTransactionalId,
  type LedgerRecord,
  type RunIdentity,
} from '../src/run-ledger/index.ts';
import type { RegistryClient } from '../src/schema/registry-client.ts';
import { createSchemaIds } from '../src/schema/schema-ids.ts';

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = kafkajs;
const protocol = (type: string, retriable: boolean, code = 1) =>
  new KafkaJSProtocolError({ type, code, retriable, message: `broker says ${type}` } as never);

describe('Kafka error classification', () => {
  const cases: [string, unknown, new (...a: never[]) => Error, boolean][] = [
    ['INVALID_TRANSACTION_TIMEOUT', protocol('INVALID_TRANSACTION_TIMEOUT', false), KafkaRequestRejectedError, false],
    ['GROUP_AUTHORIZATION_FAILED', protocol('GROUP_AUTHORIZATION_FAILED', false), AuthenticationError, false],
    ['an unknown non-retriable type', protocol('POLICY_VIOLATION', false), KafkaRequestRejectedError, false],
    ['INVALID_PRODUCER_EPOCH (fenced)', protocol('INVALID_PRODUCER_EPOCH', false), ProducerFencedError, true],
    [
      'PRODUCER_FENCED, newer than kafkajs',
      protocol('KAFKAJS_UNKNOWN_ERROR_CODE', false, -99),
      ProducerFencedError,
      true,
    ],
    ['INVALID_TXN_STATE (start over)', protocol('INVALID_TXN_STATE', false), TransientError, true],
    ['NOT_ENOUGH_REPLICAS', protocol('NOT_ENOUGH_REPLICAS', true), TransientError, true],
    // Kafka marks it retriable: stale metadata after a leadership move (a missing topic is named
    // from metadata before anything is sent).
    ['UNKNOWN_TOPIC_OR_PARTITION', protocol('UNKNOWN_TOPIC_OR_PARTITION', true, 3), TransientError, true],
    ['UNKNOWN_SERVER_ERROR (-1)', protocol('UNKNOWN', false, -1), TransientError, true],
    ['a connection error', new KafkaJSConnectionError('Connection timeout'), TransientError, true],
    [
      'retries exhausted on a retriable cause',
      new KafkaJSNumberOfRetriesExceeded(protocol('COORDINATOR_NOT_AVAILABLE', true), { retryCount: 3, retryTime: 1 }),
      TransientError,
      true,
    ],
  ];
  for (const [name, err, type, retryable] of cases) {
    test(`${name} → ${type.name} (${retryable ? 'retryable' : 'not retryable'})`, () => {
      if (name.startsWith('PRODUCER_FENCED')) (err as Error).message = 'Unknown error code 90';
      const mapped = producerErrorFromKafkajs(err, 'testing');
      assert.ok(mapped instanceof type, `${mapped.name}: ${mapped.message}`);
      assert.equal(mapped.retryable, retryable);
      assert.match(mapped.message, /testing/);
    });
  }
});

describe('transaction restarts', () => {
  test('an attempt cancelled during the pause before a restart does not open (and so fence) again', async () => {
    let opened = 0;
    let cancelled = false;
    const producer = {
      client: 'kafkajs',
      ready: async () => undefined,
      partitionCounts: async (topics: string[]) => new Map(topics.map((t) => [t, 1])),
      inTransaction: async () => {
        opened++;
        // The cancellation reaches the attempt while it waits to restart (250 ms).
        setTimeout(() => (cancelled = true), 50);
        throw new TransientError('a partition leader moved');
      },
      ledger: async () => ({}),
      close: async () => undefined,
    } as unknown as EventProducer;
    const config = loadConfig({});
    const engine = createEngine({
      config: { ...config.kafka, subject: 's', dlqSubject: 'd', transactionRestarts: 3 },
      producer,
      schemaIds: { idFor: async () => 1 },
      orderEventSchema: loadSchema(ORDER_EVENT_SCHEMA_FILE),
      deadLetterSchema: loadSchema(DEAD_LETTER_SCHEMA_FILE),
      logger: createLogger('error', () => undefined),
    });
    await assert.rejects(
      engine.produceRun({
        identity: { origin: { workflow: 'wf' }, nominalTimeMs: 0 },
        params: { eventCount: 1 },
        events: () => [],
        run: { workflowId: 'wf', runId: 'r', attempt: 1 },
        transactionTimeoutMs: 60_000,
        throwIfCancelled: () => {
          if (cancelled) throw new Error('activity cancelled');
        },
      }),
      /activity cancelled/,
    );
    assert.equal(opened, 1, 'the cancelled attempt did not open its run transaction again');
  });
});

describe('schema ids', () => {
  test('a lookup in flight when the schema gets registered is not reused by a caller that came later', async () => {
    let registered = false;
    const pending: ((id: number | undefined) => void)[] = [];
    const registry = {
      lookup: () =>
        registered ? Promise.resolve(42) : new Promise<number | undefined>((resolve) => pending.push(resolve)),
    } as unknown as RegistryClient;
    const ids = createSchemaIds(registry, { autoRegister: false });
    const early = ids.idFor('s', '{}'); // asks while unregistered; its answer is still on its way
    registered = true; // someone registers the schema meanwhile
    const late = ids.idFor('s', '{}');
    pending.shift()!(undefined); // the early lookup answers "not registered", as it was when asked
    await assert.rejects(early, SchemaNotRegisteredError);
    assert.equal(await late, 42);
    assert.equal(await ids.idFor('s', '{}'), 42, 'a resolved id is cached');
  });
});

describe('run identity', () => {
  const at = Date.parse('2026-11-28T09:05:00Z');
  const scheduled: RunIdentity = {
    topic: 'order-events',
    origin: { schedule: 'produce-order-events' },
    nominalTimeMs: at,
  };
  const variants: [string, RunIdentity][] = [
    ['another topic', { ...scheduled, topic: 'order-events-staging' }],
    ['another schedule', { ...scheduled, origin: { schedule: 'hourly' } }],
    ['a manual run', { ...scheduled, origin: { workflow: 'produce-order-events' } }],
    ['another slot', { ...scheduled, nominalTimeMs: at + 1 }],
  ];

  test('the key and the transactional id hold the whole identity and nothing else', () => {
    assert.equal(runKey(scheduled), 'v2|order-events|2026-11-28T09:05:00.000Z|schedule:produce-order-events');
    assert.equal(runTransactionalId(scheduled), `order-events-producer|${runKey(scheduled)}`);
    assert.equal(legacyKey(at), '2026-11-28T09:05:00.000Z');
  });

  for (const [what, other] of variants) {
    test(`${what} is another run: another key, transactional id and order-id block`, () => {
      assert.notEqual(runKey(other), runKey(scheduled));
      assert.notEqual(runTransactionalId(other), runTransactionalId(scheduled));
      const [a, b] = [orderIdBase(scheduled), orderIdBase(other)];
      assert.ok(a + 1_048_575n < b || b + 1_048_575n < a, 'the two runs hold disjoint order ids');
    });
  }

  test('order ids are positive Avro longs, the same for every attempt of a run', () => {
    for (let i = 0; i < 1000; i++) {
      const base = orderIdBase({ ...scheduled, nominalTimeMs: at + i * 300_000 });
      assert.ok(base >= 0n && base + 1_048_575n < 2n ** 63n);
      assert.equal(base % 1_048_576n, 0n);
    }
    assert.equal(orderIdBase({ ...scheduled }), orderIdBase(scheduled));
  });
});

describe('run ledger records', () => {
  const key = runKey({
    topic: 'order-events',
    origin: { schedule: 'produce-order-events' },
    nominalTimeMs: Date.parse('2026-11-28T09:05:00Z'),
  });
  const record: LedgerRecord = {
    version: 2,
    key,
    origin: 'schedule:produce-order-events',
    nominalTime: '2026-11-28T09:05:00.000Z',
    params: { eventCount: 10 },
    ledgerPartitions: 6,
    workflowId: 'produce-order-events-2026-11-28T09:05:00Z',
    runId: 'r',
    attempt: 2,
    topic: 'order-events',
    acknowledged: 10,
    deadLettered: 0,
    dlqTopic: 'order-events.dlq',
    partitions: [{ partition: 0, firstOffset: 4, lastOffset: null, count: 10 }],
    schemaId: 1,
    durationMs: 12,
    firstOrderId: '1',
    lastOrderId: '10',
    committedAt: '2026-11-28T09:05:01.000Z',
  };

  test('round trip, and a record that does not match is a LedgerError naming the run and field', () => {
    assert.deepEqual(decodeLedgerRecord(key, encodeLedgerRecord(record)), record);
    assert.throws(
      () => decodeLedgerRecord(key, Buffer.from('nope')),
      (e: Error) => e instanceof LedgerError && /not JSON/.test(e.message),
    );
    const bad = Buffer.from(JSON.stringify({ ...record, acknowledged: -1 }));
    assert.throws(
      () => decodeLedgerRecord(key, bad),
      (e: Error) => e instanceof LedgerError && e.message.includes(`record for ${key} is malformed (acknowledged:`),
    );
    assert.throws(() => decodeLedgerRecord('v2|other', encodeLedgerRecord(record)), /names another run/);
  });

  test("an earlier release's record (keyed by slot time) still decodes", () => {
    const { version, key: _k, origin, nominalTime, params, ledgerPartitions, ...rest } = record;
    void [version, _k, origin, nominalTime, params, ledgerPartitions];
    const legacy = { ...rest, slot: '2026-11-28T09:05:00.000Z' };
    assert.deepEqual(decodeLedgerRecord(legacy.slot, Buffer.from(JSON.stringify(legacy))), legacy);
  });
});

describe('timeouts', () => {
  test('every bound inside an attempt must be under half the heartbeat timeout', () => {
    assert.throws(
      () => loadConfig({ ACTIVITY_HEARTBEAT_TIMEOUT_MS: '10000', KAFKA_SEND_TIMEOUT_MS: '8000' }),
      (e: Error) =>
        e instanceof ConfigError &&
        /KAFKA_SEND_TIMEOUT_MS: 8000 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS \(5000 ms\)/.test(e.message),
    );
  });
  test('an attempt must fit in one Kafka transaction', () => {
    assert.throws(
      () => loadConfig({ ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: '1200000' }),
      /ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: 1200000 ms does not fit in one Kafka transaction/,
    );
  });
  test('no time setting may exceed what a Node timer can wait (2^31-1 ms)', () => {
    assert.throws(
      () => loadConfig({ SECRETS_CACHE_TTL_MS: '3000000000' }),
      /SECRETS_CACHE_TTL_MS: expected an integer <= 2147483647/,
    );
  });
});

describe('produceEvents activity (MockActivityEnvironment)', () => {
  const deps = (produceRun: ActivityDeps['produceRun']): ActivityDeps => ({
    produceRun,
    config: {
      maxEventCount: 100,
      activity: { startToCloseTimeoutMs: 60_000, heartbeatTimeoutMs: 800 },
      transactionMaxTimeoutMs: 900_000,
    },
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
});
