// Smoke tests proving the local broker is a real Apache Kafka with the listeners, security
// and transaction settings production has.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin, type Consumer, type EachMessagePayload } from 'kafkajs';
import {
  localCa,
  plaintextBrokers,
  plaintextKafka,
  readSecretJson,
  requireService,
  uniqueName,
} from './support/services.ts';

const kafka = plaintextKafka();
let admin: Admin;

async function createTopic(topic: string, partitions = 1): Promise<void> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  assert.equal(created, true, `topic ${topic} was not created`);
}

/** Reads until `count` messages arrived or `timeoutMs` passed; returns the values seen. */
async function consumeValues(
  client: Kafka,
  topic: string,
  count: number,
  opts: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<string[]> {
  const consumer: Consumer = client.consumer({
    groupId: uniqueName('smoke'),
    readUncommitted: opts.readUncommitted ?? false,
    sessionTimeout: 10000,
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.timeoutMs ?? 15000);
      void consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          values.push(message.value?.toString() ?? '');
          if (values.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

before(async () => {
  await requireService('Kafka (PLAINTEXT listener)', async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.describeCluster();
  });
});

after(async () => {
  await admin?.disconnect();
});

describe('Kafka broker', () => {
  test('produces and consumes over PLAINTEXT', async () => {
    const topic = uniqueName('smoke-plain');
    await createTopic(topic);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello plaintext' }] });
    await producer.disconnect();
    assert.deepEqual(await consumeValues(kafka, topic, 1), ['hello plaintext']);
  });

  test('auto-creation is off: producing to a missing topic is refused', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic: uniqueName('smoke-missing'), messages: [{ value: 'x' }], timeout: 3000 }),
        /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|not host/i,
      );
    } finally {
      await producer.disconnect();
    }
    const topics = await admin.listTopics();
    assert.equal(
      topics.some((t) => t.startsWith('smoke-missing')),
      false,
    );
  });

  describe('SASL_SSL listener with credentials from Secrets Manager', () => {
    let secret: Record<string, string>;
    before(async () => {
      await requireService('Secrets Manager emulator', async () => {
        secret = await readSecretJson('confluent/kafka-cluster');
      });
    });

    const saslKafka = (password: string): Kafka =>
      new Kafka({
        clientId: 'smoke-sasl',
        brokers: secret['bootstrap_servers']!.split(','),
        ssl: { ca: [localCa()], rejectUnauthorized: true },
        sasl: { mechanism: 'plain', username: secret['api_key']!, password },
        connectionTimeout: 5000,
        requestTimeout: 10000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      });

    test('the secret has the production shape', () => {
      assert.deepEqual(Object.keys(secret).sort(), ['api_key', 'api_secret', 'bootstrap_servers']);
      assert.match(secret['bootstrap_servers']!, /^127\.0\.0\.1:\d+$/);
      assert.ok(
        !plaintextBrokers().includes(secret['bootstrap_servers']!),
        'the secret must point at the SASL_SSL listener',
      );
    });

    test('produces and consumes with the secret credentials over TLS', async () => {
      const topic = uniqueName('smoke-sasl');
      await createTopic(topic);
      const client = saslKafka(secret['api_secret']!);
      const producer = client.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello sasl_ssl' }] });
      await producer.disconnect();
      assert.deepEqual(await consumeValues(client, topic, 1), ['hello sasl_ssl']);
    });

    test('a wrong password is refused', async () => {
      const producer = saslKafka(`${secret['api_secret']}-wrong`).producer();
      await assert.rejects(producer.connect(), (err: Error) => {
        assert.equal(err.name, 'KafkaJSSASLAuthenticationError');
        assert.match(err.message, /Authentication failed/i);
        return true;
      });
    });

    test('TLS verification rejects a broker certificate not signed by the given CA', async () => {
      const client = new Kafka({
        clientId: 'smoke-tls',
        brokers: secret['bootstrap_servers']!.split(','),
        ssl: { rejectUnauthorized: true }, // system CAs only: the local CA is unknown to them
        sasl: { mechanism: 'plain', username: secret['api_key']!, password: secret['api_secret']! },
        connectionTimeout: 5000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      });
      const producer = client.producer();
      await assert.rejects(producer.connect(), /self.signed|unable to (get|verify)|certificate/i);
    });
  });

  test('transactions: a read_committed consumer sees only the committed record', async () => {
    const topic = uniqueName('smoke-tx');
    await createTopic(topic);
    const producer = kafka.producer({
      transactionalId: uniqueName('smoke-tx-id'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ value: 'committed' }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ value: 'aborted' }] });
      await aborted.abort();
      const marker = await producer.transaction();
      await marker.send({ topic, messages: [{ value: 'committed-after' }] });
      await marker.commit();
    } finally {
      await producer.disconnect();
    }
    // Reading up to the record after the aborted one proves the aborted one was skipped.
    assert.deepEqual(await consumeValues(kafka, topic, 2), ['committed', 'committed-after']);
    const uncommitted = await consumeValues(kafka, topic, 3, { readUncommitted: true });
    assert.deepEqual(uncommitted, ['committed', 'aborted', 'committed-after']);
  });
});
