// Exactly once per slot, at the engine level against the real broker: fencing before deciding,
// a ledger read that fails closed, the ledger topic's settings, and Kafka errors that retrying
// cannot fix. (The same properties with real processes killed: test/faults.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { App } from '../src/app.ts';
import { orderEventsForRun } from '../src/activities/order-events-source.ts';
import { KafkaRequestRejectedError, LedgerError, LedgerUnavailableError, TransientError } from '../src/errors.ts';
import { ensureTopics, producerTopics } from '../src/kafka/admin.ts';
import type { RunRequest } from '../src/order-event-sender.ts';
import { encodeLedgerRecord, slotKey, type LedgerRecord } from '../src/run-ledger.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { createTopicsFor, readDecoded, testApp, testConfig } from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { plaintextKafka, uniqueName } from './support/services.ts';

const apps: App[] = [];
const track = (app: App): App => (apps.push(app), app);
after(async () => {
  await Promise.allSettled(apps.map((a) => a.close()));
});

// Past slots (brokers refuse timestamps more than an hour ahead), distinct per test run.
let nextSlot = Date.now() - 400 * 24 * 3_600_000 + Math.floor(Math.random() * 50_000) * 300_000;
const newSlot = () => (nextSlot += 300_000);

function runRequest(app: App, nominalTimeMs: number, count: number, extra: Partial<RunRequest> = {}): RunRequest {
  const key = slotKey(nominalTimeMs);
  return {
    events: () => orderEventsForRun(nominalTimeMs, count),
    run: { workflowId: 'wf-test', runId: 'run-test', attempt: 1 },
    slot: {
      key,
      ledgerTopic: app.config.kafka.runsTopic,
      transactionTimeoutMs: 60_000,
      record: (report) => ledgerRecord(key, report),
    },
    ...extra,
  };
}

function ledgerRecord(
  key: string,
  report: Omit<
    LedgerRecord,
    'slot' | 'workflowId' | 'runId' | 'attempt' | 'firstOrderId' | 'lastOrderId' | 'committedAt'
  >,
): LedgerRecord {
  return {
    ...report,
    slot: key,
    workflowId: 'wf-test',
    runId: 'run-test',
    attempt: 1,
    firstOrderId: '1',
    lastOrderId: '2',
    committedAt: new Date().toISOString(),
  };
}

async function orderIds(app: App): Promise<string[]> {
  return (await readDecoded<OrderEvent>(app, app.config.kafka.topic)).map((r) => String(r.decoded.order_id));
}

/** A raw transactional producer on the PLAINTEXT listener, for writing to the ledger behind the engine's back. */
async function rawTransaction(topic: string) {
  const producer = plaintextKafka().producer({
    transactionalId: uniqueName('raw-tx'),
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const tx = await producer.transaction();
  return {
    send: (key: string, value: Buffer) => tx.send({ topic, messages: [{ key, value, partition: 0 }] }),
    commit: () => tx.commit(),
    abort: () => tx.abort(),
    close: () => producer.disconnect(),
  };
}

describeEachKafkaClient('exactly once per slot (engine, real broker)', () => {
  test('a second producer of a slot fences the first before deciding: the first cannot commit, the slot lands once', async () => {
    const config = testConfig({ KAFKA_BATCH_MAX_MESSAGES: '2' });
    await createTopicsFor(config);
    const first = track(testApp(config));
    const second = track(testApp(config)); // another worker process, as far as Kafka can tell
    const slot = newSlot();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let sentByFirst = 0;
    async function* stalled() {
      const events = [...orderEventsForRun(slot, 10)];
      yield* events.slice(0, 6);
      await gate; // the first attempt stalls mid-run, its transaction open with 4+ events sent
      yield* events.slice(6);
    }
    const firstRun = first.sender.produceRun({
      ...runRequest(first, slot, 10),
      events: stalled,
      onProgress: (n) => (sentByFirst = n),
    });
    for (let i = 0; i < 100 && sentByFirst < 4; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(sentByFirst >= 4, 'the first attempt sent part of the slot before stalling');

    const outcome = await second.sender.produceRun(runRequest(second, slot, 10));
    assert.equal(outcome.status, 'produced', 'the second attempt saw no committed slot and produced it');
    release();
    // The first attempt must not commit its own copy: it either fails (fenced, or a transient error
    // once fenced) or, restarting after a transient error, finds the slot in the ledger.
    const late = await firstRun.then(
      (o) => o.status,
      (err: Error) => err,
    );
    if (late instanceof Error) {
      assert.ok(late instanceof TransientError, `${late.name}: ${late.message}`);
    } else {
      assert.equal(late, 'already-produced');
    }
    const ids = await orderIds(second);
    assert.equal(ids.length, 10);
    assert.equal(new Set(ids).size, 10);
  });

  test('every attempt consults the ledger: the same slot produced again (another process, attempt 1) sends nothing', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const slot = newSlot();
    const first = track(testApp(config));
    const produced = await first.sender.produceRun(runRequest(first, slot, 7));
    assert.equal(produced.status, 'produced');
    const again = track(testApp(config));
    const outcome = await again.sender.produceRun(runRequest(again, slot, 7));
    assert.equal(outcome.status, 'already-produced');
    assert.equal(outcome.status === 'already-produced' && outcome.record.acknowledged, 7);
    // The same process asking again finds it in its warm index too.
    assert.equal((await first.sender.produceRun(runRequest(first, slot, 7))).status, 'already-produced');
    assert.equal((await orderIds(first)).length, 7);
  });

  test('the ledger read fails closed: an open transaction on the ledger holds the lookup back instead of answering "not produced"', async () => {
    const config = testConfig({ KAFKA_LEDGER_TIMEOUT_MS: '2000' });
    await createTopicsFor(config);
    const slot = newSlot();
    const key = slotKey(slot);
    const runs = config.kafka.runsTopic;
    // Another slot's transaction stays open on the ledger; this slot's record is committed after it.
    const open = await rawTransaction(runs);
    await open.send(slotKey(slot + 1), Buffer.from('{}'));
    const committed = await rawTransaction(runs);
    const report = {
      topic: config.kafka.topic,
      acknowledged: 3,
      deadLettered: 0,
      dlqTopic: 'd',
      partitions: [],
      schemaId: 1,
      durationMs: 1,
    };
    await committed.send(key, encodeLedgerRecord(ledgerRecord(key, report)));
    await committed.commit();
    await committed.close();
    try {
      const app = track(testApp(config));
      const started = Date.now();
      await assert.rejects(app.sender.produceRun(runRequest(app, slot, 3)), (err: Error) => {
        assert.ok(err instanceof LedgerUnavailableError, `${err.name}: ${err.message}`);
        assert.equal(err.retryable, true);
        assert.match(
          err.message,
          /could not tell whether this slot was already produced.*partition 0 read to \d+ of \d+/,
        );
        return true;
      });
      assert.ok(Date.now() - started < 2000 + 5000, `took ${Date.now() - started} ms`);
      await open.abort();
      const outcome = await app.sender.produceRun(runRequest(app, slot, 3));
      assert.equal(
        outcome.status,
        'already-produced',
        'once the open transaction ended, the record behind it is found',
      );
      assert.deepEqual(await orderIds(app), [], 'nothing of the slot was sent');
    } finally {
      await open.close();
    }
  });

  test('a ledger record that does not parse is a non-retryable LedgerError naming the slot, and nothing is sent', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const slot = newSlot();
    const raw = await rawTransaction(config.kafka.runsTopic);
    await raw.send(slotKey(slot), Buffer.from('{"slot":"x"}'));
    await raw.commit();
    await raw.close();
    const app = track(testApp(config));
    await assert.rejects(app.sender.produceRun(runRequest(app, slot, 2)), (err: Error) => {
      assert.ok(err instanceof LedgerError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`record for ${slotKey(slot).replace(/\./g, '\\.')} is malformed`));
      return true;
    });
    assert.deepEqual(await orderIds(app), []);
  });

  test('a transaction timeout above the broker maximum is a non-retryable error naming the setting', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const app = track(testApp(config));
    const request = runRequest(app, newSlot(), 2);
    request.slot.transactionTimeoutMs = 20 * 60_000; // the broker allows 15 min
    await assert.rejects(app.sender.produceRun(request), (err: Error) => {
      assert.ok(err instanceof KafkaRequestRejectedError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, /transaction\.max\.timeout\.ms/);
      return true;
    });
  });

  test('topics ensure creates the ledger compacted with its retention, and fixes an existing ledger that lacks them', async () => {
    const config = testConfig({ KAFKA_RUNS_RETENTION_MS: String(10 * 24 * 3_600_000) });
    const admin = plaintextKafka().admin();
    await admin.connect();
    try {
      const describe = async (topic: string) => {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy', 'retention.ms'] },
          ],
        });
        return Object.fromEntries(resources[0]!.configEntries.map((c) => [c.configName, c.configValue]));
      };
      await createTopicsFor(config);
      assert.deepEqual(await describe(config.kafka.runsTopic), {
        'cleanup.policy': 'compact,delete',
        'retention.ms': String(10 * 24 * 3_600_000),
      });
      // A ledger created before (broker defaults): ensure sets the ledger's settings.
      const old = testConfig();
      await admin.createTopics({ topics: [{ topic: old.kafka.runsTopic, numPartitions: 1 }], waitForLeaders: true });
      const results = await ensureTopics(plaintextKafka(), producerTopics(old.kafka), 10_000);
      const ledger = results.find((r) => r.topic === old.kafka.runsTopic);
      assert.deepEqual(ledger?.configUpdated?.map((c) => c.name).sort(), ['cleanup.policy', 'retention.ms']);
      assert.equal((await describe(old.kafka.runsTopic))['cleanup.policy'], 'compact,delete');
    } finally {
      await admin.disconnect();
    }
  });
});
