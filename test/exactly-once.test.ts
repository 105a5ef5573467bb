// Exactly once per run, at the engine level against the real broker: fencing before deciding,
// a ledger read that fails closed per partition, run identities that cannot collide, the ledger
// topic's settings, and Kafka errors that retrying cannot fix. (The same properties with real
// processes killed: test/faults.test.ts; through real schedules: test/run-identity.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { App } from '../src/app.ts';
import { orderEventsForRun } from '../src/sources/generator.ts';
import {
  KafkaRequestRejectedError,
  LedgerError,
  LedgerRetentionError,
  LedgerUnavailableError,
  RunRequestChangedError,
  TransientError,
} from '../src/errors.ts';
import { ensureTopics } from '../src/kafka/topics.ts';
import { producerTopics } from '../src/run-ledger/topic.ts';
import {
  encodeLedgerRecord,
  ledgerPartitionOf,
  legacyKey,
  orderIdBase,
  originLabel,
  runKey,
  type LedgerRecord,
  type RunIdentity,
  type RunOrigin,
} from '../src/run-ledger/index.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import type { Config } from '../src/config/index.ts';
import {
  asRun,
  type TestRun,
  createTopicsFor,
  produceOnce,
  readDecoded,
  testApp,
  testConfig,
  setTopicSettings,
  topicSettings,
  topicSettingsSettle,
} from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { plaintextKafka, uniqueName } from './support/services.ts';

const apps: App[] = [];
const track = (app: App): App => (apps.push(app), app);
after(async () => {
  await Promise.allSettled(apps.map((a) => a.close()));
});

// Recent past slots: within the ledger's retention, and brokers refuse timestamps more than an
// hour ahead. Every test has its own topics, so slots only need to differ within a test.
let nextSlot = Date.now() - 2 * 24 * 3_600_000 + Math.floor(Math.random() * 1000) * 60_000;
const newSlot = () => (nextSlot += 300_000);
const MANUAL: RunOrigin = { workflow: 'wf-test' };

function runRequest(nominalTimeMs: number, count: number, extra: Partial<TestRun> = {}): TestRun {
  return {
    identity: { origin: MANUAL, nominalTimeMs },
    params: { eventCount: count },
    events: (first) => orderEventsForRun(nominalTimeMs, count, first),
    run: { workflowId: 'wf-test', runId: 'run-test', attempt: 1 },
    transactionTimeoutMs: 60_000,
    ...extra,
  };
}

const identityOf = (config: Config, nominalTimeMs: number, origin: RunOrigin = MANUAL): RunIdentity => ({
  topic: config.kafka.topic,
  origin,
  nominalTimeMs,
});

/** A v2 ledger record for `identity`, as the engine writes it (for writing behind its back). */
function v2Record(identity: RunIdentity, eventCount: number, ledgerPartitions: number): LedgerRecord {
  const base = orderIdBase(identity);
  return {
    version: 2,
    key: runKey(identity),
    origin: originLabel(identity.origin),
    nominalTime: new Date(identity.nominalTimeMs).toISOString(),
    params: { eventCount },
    ledgerPartitions,
    topic: identity.topic,
    acknowledged: eventCount,
    deadLettered: 0,
    dlqTopic: 'd',
    partitions: [],
    schemaId: 1,
    durationMs: 1,
    workflowId: 'wf-test',
    runId: 'run-test',
    attempt: 1,
    firstOrderId: String(base),
    lastOrderId: String(base + BigInt(eventCount - 1)),
    committedAt: new Date().toISOString(),
  };
}

async function orderIds(app: App, topic = app.config.kafka.topic): Promise<string[]> {
  return (await readDecoded<OrderEvent>(app, topic)).map((r) => String(r.decoded.order_id));
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
    send: (key: string, value: Buffer, partition: number) => tx.send({ topic, messages: [{ key, value, partition }] }),
    commit: () => tx.commit(),
    abort: () => tx.abort(),
    close: () => producer.disconnect(),
  };
}

/** Commits one record to the ledger, as another writer would. */
async function writeLedger(topic: string, key: string, value: Buffer, partition: number): Promise<void> {
  const raw = await rawTransaction(topic);
  await raw.send(key, value, partition);
  await raw.commit();
  await raw.close();
}

/** A slot whose run key lands (or not, with `on: false`) on `partition` of `count`. */
function slotWhere(config: Config, partition: number, count: number, on = true, origin: RunOrigin = MANUAL): number {
  for (;;) {
    const slot = newSlot();
    const at = ledgerPartitionOf(runKey(identityOf(config, slot, origin)), count);
    if ((at === partition) === on) return slot;
  }
}

describeEachKafkaClient('exactly once per run (engine, real broker)', () => {
  test('a second producer of a run fences the first before deciding, whatever their other settings: the first cannot commit, the run lands once', async () => {
    const config = testConfig({ KAFKA_BATCH_MAX_MESSAGES: '2' });
    await createTopicsFor(config);
    const first = track(testApp(config));
    // Another worker process with other settings (a config rollout): the fence keys on the run only.
    const second = track(testApp({ ...config, kafka: { ...config.kafka, clientId: 'another-deployment' } }));
    const slot = newSlot();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let sentByFirst = 0;
    async function* stalled(firstId: bigint) {
      const events = [...orderEventsForRun(slot, 10, firstId)];
      yield* events.slice(0, 6);
      await gate; // the first attempt stalls mid-run, its transaction open with 4+ events sent
      yield* events.slice(6);
    }
    const firstRun = first.engine.produceRun(
      asRun({
        ...runRequest(slot, 10),
        events: stalled,
        onProgress: (n) => (sentByFirst = n),
      }),
    );
    for (let i = 0; i < 100 && sentByFirst < 4; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(sentByFirst >= 4, 'the first attempt sent part of the run before stalling');

    const outcome = await second.engine.produceRun(asRun(runRequest(slot, 10)));
    assert.equal(outcome.status, 'produced', 'the second attempt saw no committed run and produced it');
    release();
    // The first attempt must not commit its own copy: it either fails (fenced, or a transient error
    // once fenced) or, restarting after a transient error, finds the run in the ledger.
    const late = await firstRun.then(
      (o) => o.status,
      (err: Error) => err,
    );
    if (late instanceof Error) {
      assert.ok(late instanceof TransientError, `${late.name}: ${late.message}`);
    } else {
      assert.equal(late, 'already-committed');
    }
    const ids = await orderIds(second);
    assert.equal(ids.length, 10);
    assert.equal(new Set(ids).size, 10);
  });

  test('every attempt consults the ledger: the same run produced again (another process, attempt 1) sends nothing', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const slot = newSlot();
    const first = track(testApp(config));
    const produced = await first.engine.produceRun(asRun(runRequest(slot, 7)));
    assert.equal(produced.status, 'produced');
    const again = track(testApp(config));
    const outcome = await again.engine.produceRun(asRun(runRequest(slot, 7)));
    assert.equal(outcome.status, 'already-committed');
    assert.equal(outcome.status === 'already-committed' && outcome.report.acknowledged, 7);
    assert.equal(outcome.firstOrderId, produced.firstOrderId);
    // The same process asking again finds it in its warm reader too.
    assert.equal((await first.engine.produceRun(asRun(runRequest(slot, 7)))).status, 'already-committed');
    assert.equal((await orderIds(first)).length, 7);
  });

  test('two deployments on two topics share one ledger and run the same slot: each topic gets its events once', async () => {
    const a = testConfig();
    const b = testConfig({ KAFKA_RUNS_TOPIC: a.kafka.runsTopic });
    await createTopicsFor(a);
    await createTopicsFor(b);
    const slot = newSlot();
    const appA = track(testApp(a));
    const appB = track(testApp(b));
    assert.equal((await appA.engine.produceRun(asRun(runRequest(slot, 7)))).status, 'produced');
    assert.equal(
      (await appB.engine.produceRun(asRun(runRequest(slot, 7)))).status,
      'produced',
      'B is not "already produced"',
    );
    assert.equal((await appB.engine.produceRun(asRun(runRequest(slot, 7)))).status, 'already-committed');
    assert.equal((await orderIds(appA)).length, 7);
    assert.equal((await orderIds(appB)).length, 7);
  });

  test('two schedules on one topic fire at the same instant with different counts: both produce, no order id in common', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const app = track(testApp(config));
    const slot = newSlot();
    const every5 = await app.engine.produceRun(
      asRun({
        ...runRequest(slot, 5),
        identity: { origin: { schedule: 'every-5-minutes' }, nominalTimeMs: slot },
      }),
    );
    const hourly = await app.engine.produceRun(
      asRun({
        ...runRequest(slot, 9),
        identity: { origin: { schedule: 'hourly' }, nominalTimeMs: slot },
      }),
    );
    assert.equal(every5.status, 'produced');
    assert.equal(hourly.status, 'produced', 'the second schedule is its own run');
    const ids = await orderIds(app);
    assert.equal(ids.length, 14);
    assert.equal(new Set(ids).size, 14, 'no order id in common');
    assert.notEqual(every5.firstOrderId, hourly.firstOrderId);
  });

  test('two runs in one second whose order-id ranges overlap: the second is refused loudly, and sends nothing', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const app = track(testApp(config));
    const slot = newSlot();
    const first = { topic: config.kafka.topic, origin: { schedule: 'first' }, nominalTimeMs: slot };
    const a = orderIdBase(first);
    // Another schedule firing in the same second whose 1,000 ids overlap the first's (odds 1,999 in 7,340,033).
    let other = 0;
    const overlaps = (i: number) => {
      const b = orderIdBase({ ...first, origin: { schedule: `other-${i}` } });
      return b <= a + 999n && a <= b + 999n;
    };
    while (!overlaps(other)) other++;
    assert.equal(
      (await app.engine.produceRun(asRun({ ...runRequest(slot, 1000), identity: first }))).status,
      'produced',
    );
    await assert.rejects(
      app.engine.produceRun(
        asRun({
          ...runRequest(slot, 1000),
          identity: { origin: { schedule: `other-${other}` }, nominalTimeMs: slot },
        }),
      ),
      (err: Error) => {
        assert.ok(err instanceof LedgerError, `${err.name}: ${err.message}`);
        assert.match(err.message, /overlap ids \d+ … \d+ already held by v2\|.*schedule:first in the run ledger/);
        return true;
      },
    );
    assert.equal((await orderIds(app)).length, 1000, 'only the first run is visible');
  });

  test('a produced run asked again with another count is refused, naming both requests, and nothing is sent', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const app = track(testApp(config));
    const slot = newSlot();
    assert.equal((await app.engine.produceRun(asRun(runRequest(slot, 6)))).status, 'produced');
    await assert.rejects(app.engine.produceRun(asRun(runRequest(slot, 11))), (err: Error) => {
      assert.ok(err instanceof RunRequestChangedError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, /already produced with \{"eventCount":6\}.*this run asks for \{"eventCount":11\}/);
      return true;
    });
    assert.equal((await orderIds(app)).length, 6);
  });

  test('a transaction held open on one ledger partition delays only the runs whose key lives there', async () => {
    const config = testConfig({ KAFKA_LEDGER_TIMEOUT_MS: '2000', KAFKA_RUNS_PARTITIONS: '6' });
    await createTopicsFor(config);
    const app = track(testApp(config));
    await (await app.ledgers.get(config.kafka.runsTopic)).warm(); // as the worker does at start
    const held = 2;
    const open = await rawTransaction(config.kafka.runsTopic);
    const other = runKey(identityOf(config, slotWhere(config, held, 6)));
    await open.send(other, encodeLedgerRecord(v2Record(identityOf(config, 1), 1, 6)), held).catch(() => undefined);
    try {
      let produced = 0;
      for (let i = 0; i < 5; i++) {
        const outcome = await app.engine.produceRun(asRun(runRequest(slotWhere(config, held, 6, false), 2)));
        assert.equal(outcome.status, 'produced');
        produced++;
      }
      assert.equal(produced, 5, 'every run of another partition completed on its first attempt');
      const blocked = slotWhere(config, held, 6);
      await assert.rejects(app.engine.produceRun(asRun(runRequest(blocked, 2))), (err: Error) => {
        assert.ok(err instanceof LedgerUnavailableError, `${err.name}: ${err.message}`);
        assert.match(err.message, new RegExp(`partition ${held} read to \\d+ of \\d+`));
        return true;
      });
      await open.abort();
      assert.equal((await app.engine.produceRun(asRun(runRequest(blocked, 2)))).status, 'produced');
      assert.equal((await orderIds(app)).length, 12);
    } finally {
      await open.close();
    }
  });

  test('the ledger read fails closed: an open transaction on the run\'s partition holds the check back instead of answering "not produced"', async () => {
    const config = testConfig({ KAFKA_LEDGER_TIMEOUT_MS: '2000' });
    await createTopicsFor(config);
    const slot = newSlot();
    const identity = identityOf(config, slot);
    const partition = ledgerPartitionOf(runKey(identity), config.kafka.runsPartitions);
    // Another run's transaction stays open on that partition; this run's record is committed after it.
    const open = await rawTransaction(config.kafka.runsTopic);
    await open.send(runKey(identityOf(config, slot, { workflow: 'other' })), Buffer.from('{}'), partition);
    await writeLedger(
      config.kafka.runsTopic,
      runKey(identity),
      encodeLedgerRecord(v2Record(identity, 3, config.kafka.runsPartitions)),
      partition,
    );
    try {
      const app = track(testApp(config));
      const started = Date.now();
      await assert.rejects(app.engine.produceRun(asRun(runRequest(slot, 3))), (err: Error) => {
        assert.ok(err instanceof LedgerUnavailableError, `${err.name}: ${err.message}`);
        assert.equal(err.retryable, true);
        assert.match(
          err.message,
          new RegExp(
            `could not tell whether this run was already produced.*partition ${partition} read to \\d+ of \\d+`,
          ),
        );
        return true;
      });
      assert.ok(Date.now() - started < 2000 + 5000, `took ${Date.now() - started} ms`);
      await open.abort();
      const outcome = await app.engine.produceRun(asRun(runRequest(slot, 3)));
      assert.equal(
        outcome.status,
        'already-committed',
        'once the open transaction ended, the record behind it is found',
      );
      assert.deepEqual(await orderIds(app), [], 'nothing of the run was sent');
    } finally {
      await open.close();
    }
  });

  test('a ledger record that does not parse is a non-retryable LedgerError naming the run, and nothing is sent', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const slot = newSlot();
    const key = runKey(identityOf(config, slot));
    await writeLedger(
      config.kafka.runsTopic,
      key,
      Buffer.from('{"slot":"x"}'),
      ledgerPartitionOf(key, config.kafka.runsPartitions),
    );
    const app = track(testApp(config));
    await assert.rejects(app.engine.produceRun(asRun(runRequest(slot, 2))), (err: Error) => {
      assert.ok(err instanceof LedgerError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.ok(err.message.includes(`record for ${key} is malformed`), err.message);
      return true;
    });
    assert.deepEqual(await orderIds(app), []);
  });

  test('a ledger written by the earlier release (slot-keyed records) still answers for its runs after the upgrade', async () => {
    // Earlier releases created the ledger with one partition and keyed a record by the slot's time.
    const config = testConfig({ KAFKA_RUNS_PARTITIONS: '1' });
    await createTopicsFor(config);
    const app = track(testApp(config));
    const slot = newSlot();
    const iso = new Date(slot).toISOString();
    // The earlier release's run of schedule "nightly": its events (order ids nominal ms × 1,000,000 + i)
    // and its record, both committed.
    const legacyFirst = BigInt(slot) * 1_000_000n;
    await produceOnce(app, [...orderEventsForRun(slot, 5, legacyFirst)]);
    const legacy = {
      ...v2Record(identityOf(config, slot), 5, 1),
      firstOrderId: String(legacyFirst),
      lastOrderId: String(legacyFirst + 4n),
      workflowId: `nightly-${iso.replace(/\.\d{3}Z$/, 'Z')}`,
    };
    const { version, key, origin, nominalTime, params, ledgerPartitions, ...old } = legacy;
    void [version, key, origin, nominalTime, params, ledgerPartitions];
    await writeLedger(config.kafka.runsTopic, legacyKey(slot), Buffer.from(JSON.stringify({ ...old, slot: iso })), 0);
    // Another topic's run of an earlier slot in the same (then shared) ledger: not this deployment's.
    const foreignSlot = newSlot();
    const foreign = { ...old, slot: new Date(foreignSlot).toISOString(), topic: 'another-topic' };
    await writeLedger(config.kafka.runsTopic, legacyKey(foreignSlot), Buffer.from(JSON.stringify(foreign)), 0);

    // The upgraded worker resets the old slot of "nightly": already produced, nothing sent.
    const nightly: RunOrigin = { schedule: 'nightly' };
    const again = await app.engine.produceRun(
      asRun({
        ...runRequest(slot, 5),
        identity: { origin: nightly, nominalTimeMs: slot },
      }),
    );
    assert.equal(again.status, 'already-committed');
    assert.equal(again.firstOrderId, String(legacyFirst));
    await assert.rejects(
      app.engine.produceRun(asRun({ ...runRequest(slot, 6), identity: { origin: nightly, nominalTimeMs: slot } })),
      RunRequestChangedError,
    );
    // Another schedule at that instant, and this topic's run of the foreign record's slot, are runs of their own.
    const other = await app.engine.produceRun(
      asRun({
        ...runRequest(slot, 3),
        identity: { origin: { schedule: 'hourly' }, nominalTimeMs: slot },
      }),
    );
    assert.equal(other.status, 'produced');
    const mine = await app.engine.produceRun(
      asRun({
        ...runRequest(foreignSlot, 2),
        identity: { origin: nightly, nominalTimeMs: foreignSlot },
      }),
    );
    assert.equal(mine.status, 'produced');
    const ids = await orderIds(app);
    assert.equal(ids.length, 5 + 3 + 2);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
  });

  test('a ledger whose partition count changed under its records is refused, never read as "not produced"', async () => {
    const config = testConfig({ KAFKA_RUNS_PARTITIONS: '1' });
    await createTopicsFor(config);
    const slot = slotWhere(config, 0, 3, false); // a run whose key moves when the ledger grows to 3
    const first = track(testApp(config));
    assert.equal((await first.engine.produceRun(asRun(runRequest(slot, 2)))).status, 'produced');
    const admin = plaintextKafka().admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: config.kafka.runsTopic, count: 3 }] });
    await admin.disconnect();
    const upgraded = track(testApp(config));
    await assert.rejects(upgraded.engine.produceRun(asRun(runRequest(slot, 2))), (err: Error) => {
      assert.ok(err instanceof LedgerError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, /partition count changed after records were written/);
      return true;
    });
    assert.equal((await orderIds(upgraded)).length, 2);
  });

  test("a slot older than the ledger topic's real retention is refused, naming the slot and the retention", async () => {
    const config = testConfig();
    await createTopicsFor(config);
    // An operator shortened the ledger's retention by hand: the worker reads the topic, not its own setting.
    await setTopicSettings(config.kafka.runsTopic, { 'cleanup.policy': 'compact,delete', 'retention.ms': '7200000' });
    const app = track(testApp(config));
    const old = Date.now() - 3 * 3_600_000;
    await assert.rejects(app.engine.produceRun(asRun(runRequest(old, 2))), (err: Error) => {
      assert.ok(err instanceof LedgerRetentionError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.ok(err.message.includes(new Date(old).toISOString()), err.message);
      assert.match(err.message, /retention\.ms=7200000/);
      return true;
    });
    assert.equal((await app.engine.produceRun(asRun(runRequest(Date.now() - 3_600_000, 2)))).status, 'produced');
    assert.equal((await orderIds(app)).length, 2);
  });

  test('a transaction timeout above the broker maximum is a non-retryable error naming the setting', async () => {
    const config = testConfig();
    await createTopicsFor(config);
    const app = track(testApp(config));
    const request = { ...runRequest(newSlot(), 2), transactionTimeoutMs: 20 * 60_000 }; // the broker allows 15 min
    await assert.rejects(app.engine.produceRun(asRun(request)), (err: Error) => {
      assert.ok(err instanceof KafkaRequestRejectedError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, /transaction\.max\.timeout\.ms/);
      return true;
    });
  });

  test('topics ensure creates the ledger compacted with its retention, and on an existing ledger sets only its own keys', async () => {
    const config = testConfig({ KAFKA_RUNS_RETENTION_MS: String(10 * 24 * 3_600_000) });
    const own = ['cleanup.policy', 'retention.ms'];
    await createTopicsFor(config);
    assert.deepEqual(await topicSettings(config.kafka.runsTopic, own), {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(10 * 24 * 3_600_000),
    });
    // An operator's overrides, and a retention changed by hand.
    const operator = { 'min.insync.replicas': '2', 'segment.ms': '3600000', 'max.message.bytes': '2000000' };
    await setTopicSettings(config.kafka.runsTopic, {
      'cleanup.policy': 'compact,delete',
      'retention.ms': '7200000',
      ...operator,
    });
    const results = await ensureTopics(plaintextKafka(), producerTopics(config.kafka), 10_000);
    const ledger = results.find((r) => r.topic === config.kafka.runsTopic);
    assert.deepEqual(ledger?.configUpdated, [
      { name: 'retention.ms', wanted: String(10 * 24 * 3_600_000), was: '7200000' },
    ]);
    await topicSettingsSettle(config.kafka.runsTopic, { 'retention.ms': String(10 * 24 * 3_600_000) });
    const after = await topicSettings(config.kafka.runsTopic);
    for (const [name, value] of Object.entries(operator)) assert.equal(after[name], value, `${name} survived`);
    assert.equal(after['retention.ms'], String(10 * 24 * 3_600_000));
    // A ledger created before (broker defaults): ensure sets the ledger's settings.
    const old = testConfig();
    const admin = plaintextKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: old.kafka.runsTopic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const again = await ensureTopics(plaintextKafka(), producerTopics(old.kafka), 10_000);
    const oldLedger = again.find((r) => r.topic === old.kafka.runsTopic);
    assert.deepEqual(oldLedger?.configUpdated?.map((c) => c.name).sort(), own);
    assert.equal(oldLedger?.actualPartitions, 1, 'an existing ledger keeps its partition count');
    await topicSettingsSettle(old.kafka.runsTopic, { 'cleanup.policy': 'compact,delete' });
  });
});
