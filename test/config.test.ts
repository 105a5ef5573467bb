import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ConfigError } from '../src/errors.ts';
import { temporalTls } from '../src/temporal-connection.ts';

test('defaults match the local stack and the interface contract', () => {
  const config = loadConfig({});
  assert.equal(config.kafka.topic, 'order-events');
  assert.equal(config.kafka.dlqTopic, 'order-events.dlq');
  assert.equal(config.kafka.runsTopic, 'order-events.runs');
  assert.equal(config.kafka.runsPartitions, 6);
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
  const cert = join(mkdtempSync(join(tmpdir(), 'cert-')), 'client.pem');
  writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  assert.throws(() => loadConfig({ TEMPORAL_TLS_CERT_FILE: cert }), /must be set together/);
});

test('the events, dead-letter and ledger topics must differ', () => {
  assert.throws(
    () => loadConfig({ KAFKA_TOPIC: 'orders', KAFKA_DLQ_TOPIC: 'orders' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /KAFKA_TOPIC and KAFKA_DLQ_TOPIC are both "orders"/);
      return true;
    },
  );
  assert.throws(
    () => loadConfig({ KAFKA_RUNS_TOPIC: 'order-events' }),
    /KAFKA_TOPIC and KAFKA_RUNS_TOPIC are both "order-events"/,
  );
});

test('CA, certificate and key files must be PEM', () => {
  for (const key of ['KAFKA_SSL_CA_FILE', 'TEMPORAL_TLS_CA_FILE']) {
    assert.throws(() => loadConfig({ [key]: 'package.json' }), new RegExp(`${key}: expected a PEM file`));
  }
  assert.throws(
    () => loadConfig({ TEMPORAL_TLS_CERT_FILE: 'package.json', TEMPORAL_TLS_KEY_FILE: 'package.json' }),
    /TEMPORAL_TLS_CERT_FILE: expected a PEM file \(a client certificate/,
  );
});

test('TEMPORAL_TLS_CA_FILE alone means TLS verified against that CA, never plaintext', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const config = loadConfig({ TEMPORAL_TLS_CA_FILE: ca });
  assert.deepEqual(config.temporal.tls, { client: undefined, caFile: ca });
  const tls = temporalTls(config.temporal);
  assert.ok(tls, 'TLS is on');
  assert.equal(tls.clientCertPair, undefined);
  assert.match(String(tls.serverRootCACertificate), /BEGIN CERTIFICATE/);
  assert.equal(temporalTls(loadConfig({}).temporal), undefined, 'no TLS setting: plaintext, as the local stack');
});

test("the run ledger follows the events topic unless set: another deployment's topic gets its own ledger", () => {
  assert.equal(loadConfig({ KAFKA_TOPIC: 'orders-staging' }).kafka.runsTopic, 'orders-staging.runs');
  assert.equal(loadConfig({ KAFKA_TOPIC: 'a', KAFKA_RUNS_TOPIC: 'shared.runs' }).kafka.runsTopic, 'shared.runs');
  assert.throws(
    () => loadConfig({ KAFKA_TOPIC: 'a', KAFKA_DLQ_TOPIC: 'a.runs' }),
    /KAFKA_DLQ_TOPIC and KAFKA_RUNS_TOPIC are both "a\.runs"/,
  );
});

test('KAFKA_TRANSACTIONAL_ID_PREFIX is refused with the reason: fencing must not depend on a per-process setting', () => {
  assert.throws(
    () => loadConfig({ KAFKA_TRANSACTIONAL_ID_PREFIX: 'pod-7' }),
    (err: Error) =>
      err instanceof ConfigError &&
      /KAFKA_TRANSACTIONAL_ID_PREFIX is no longer a setting.*fence each other whatever their settings/.test(
        err.message,
      ),
  );
});

test('TEMPORAL_TLS=true is TLS against the system CAs; false with a TLS file is a contradiction', () => {
  const config = loadConfig({ TEMPORAL_TLS: 'true' });
  assert.deepEqual(config.temporal.tls, { client: undefined, caFile: undefined });
  assert.deepEqual(temporalTls(config.temporal), {}, 'an empty TLS config: the SDK verifies against the system CAs');
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  assert.throws(
    () => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: ca }),
    /TEMPORAL_TLS=false contradicts/,
  );
});

test('OTEL_* settings are validated with the others, naming the variable', () => {
  assert.deepEqual(loadConfig({}).tracing, { exporter: 'none', protocol: 'http/protobuf' });
  assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing, {
    exporter: 'otlp',
    protocol: 'http/protobuf',
  });
  assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'true' }).tracing.exporter, 'none');
  assert.throws(
    () =>
      loadConfig({
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /OTEL_TRACES_EXPORTER: expected otlp, console or none, got "jaeger"/);
      assert.match(err.message, /OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf or http\/json, got "grpc"/);
      assert.match(err.message, /OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL, got "collector:4318"/);
      return true;
    },
  );
});

test('batch sizes have upper bounds that keep the event loop (and so the heartbeats) free', () => {
  assert.throws(
    () => loadConfig({ KAFKA_BATCH_MAX_MESSAGES: '1000000' }),
    /KAFKA_BATCH_MAX_MESSAGES: expected an integer <= 100000/,
  );
  assert.throws(
    () => loadConfig({ KAFKA_BATCH_MAX_BYTES: '1073741824' }),
    /KAFKA_BATCH_MAX_BYTES: expected an integer <= 16777216/,
  );
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

test('the source a run names: generator by default, the outbox by its name; order_outbox and public.order_outbox are one source', () => {
  assert.equal(loadConfig({}).source.name, 'generator');
  const plain = loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: 'order_outbox' });
  const qualified = loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: 'public.order_outbox' });
  assert.equal(plain.source.name, 'outbox:order_outbox');
  assert.equal(qualified.source.name, plain.source.name);
  assert.equal(qualified.source.outbox.table, 'order_outbox');
  assert.equal(loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: 'sales.orders' }).source.name, 'outbox:sales.orders');
  assert.equal(loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_SOURCE_NAME: 'eu' }).source.name, 'eu');
  // One slot per table, topic and source, within PostgreSQL's 63 bytes; OUTBOX_SLOT names it.
  assert.match(plain.source.outbox.slot, /^order_outbox_[0-9a-f]{8}_slot$/);
  assert.equal(qualified.source.outbox.slot, plain.source.outbox.slot);
  const otherTopic = loadConfig({ EVENT_SOURCE: 'outbox', KAFKA_TOPIC: 'eu-orders' });
  assert.notEqual(otherTopic.source.outbox.slot, plain.source.outbox.slot);
  assert.ok(loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: 'x'.repeat(63) }).source.outbox.slot.length <= 63);
  assert.equal(loadConfig({ EVENT_SOURCE: 'outbox', OUTBOX_SLOT: 'my_slot' }).source.outbox.slot, 'my_slot');
  assert.throws(() => loadConfig({ OUTBOX_SLOT: 'My-Slot' }), /OUTBOX_SLOT: expected a slot name/);
});
