import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

test('defaults match the local stack and the interface contract', () => {
  const config = loadConfig({});
  assert.equal(config.kafka.topic, 'order-events');
  assert.equal(config.kafka.dlqTopic, 'order-events.dlq');
  assert.equal(config.kafka.topicPartitions, 6);
  assert.equal(config.kafka.compression, 'snappy');
  assert.equal(config.registry.subject, 'order-events-value');
  assert.equal(config.registry.autoRegister, true);
  assert.equal(config.registry.compatibility, undefined);
  assert.equal(config.secrets.region, 'eu-west-2');
  assert.equal(config.secrets.kafkaSecretName, 'confluent/kafka-cluster');
  assert.equal(config.secrets.registrySecretName, 'confluent/schema-registry');
  assert.equal(config.temporal.taskQueue, 'order-events');
  assert.equal(config.temporal.address, '127.0.0.1:7233');
});

test('a bad value fails naming the variable, what it expects and what it got', () => {
  assert.throws(
    () => loadConfig({ KAFKA_TOPIC_PARTITIONS: 'six', KAFKA_COMPRESSION: 'lz5', REGISTRY_AUTO_REGISTER: 'yes' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /KAFKA_TOPIC_PARTITIONS: expected an integer, got "six"/);
      assert.match(err.message, /KAFKA_COMPRESSION: expected snappy, gzip or none, got "lz5"/);
      assert.match(err.message, /REGISTRY_AUTO_REGISTER: expected true or false, got "yes"/);
      return true;
    },
  );
});

test('a CA file that does not exist is refused at start-up', () => {
  assert.throws(() => loadConfig({ KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }), /KAFKA_SSL_CA_FILE: expected the path/);
});

test('ranges are enforced', () => {
  assert.throws(
    () => loadConfig({ KAFKA_BATCH_MAX_MESSAGES: '0' }),
    /KAFKA_BATCH_MAX_MESSAGES: expected an integer >= 1/,
  );
  assert.throws(() => loadConfig({ MAX_EVENT_COUNT: '-5' }), /MAX_EVENT_COUNT: expected an integer >= 1/);
});

test('Temporal mTLS needs both the certificate and the key', () => {
  assert.throws(() => loadConfig({ TEMPORAL_TLS_CERT_FILE: 'package.json' }), /must be set together/);
});
