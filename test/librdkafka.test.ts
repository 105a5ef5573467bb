// What only the librdkafka backend has: its settings, its error codes, a missing native build, and
// its own connection (credentials refused, TLS verified) against the real broker. Everything the
// two backends share runs against both in the engine, exactly-once, workflow and fault suites.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import {
  AuthenticationError,
  ConfigError,
  DeliveryRejectedError,
  KafkaRequestRejectedError,
  ProducerFencedError,
  TransientError,
} from '../src/errors.ts';
import { producerErrorFromLibrdkafka } from '../src/kafka/librdkafka/errors.ts';
import { describeFailure } from '../src/kafka/librdkafka/producer-events.ts';
import { librdkafkaLoader, loadLibrdkafka } from '../src/kafka/librdkafka/load.ts';
import { librdkafkaSettings, openTransaction } from '../src/kafka/librdkafka/transaction.ts';
import { runTransaction } from '../src/kafka/transaction.ts';
import { createLogger } from '../src/logger.ts';
import type { KafkaCredentials } from '../src/secrets.ts';
import { captureLogger } from './support/app.ts';
import { caFile, readSecretJson, uniqueName } from './support/services.ts';

const rd = await loadLibrdkafka(); // not built: this file fails at once, naming why

const creds = (): KafkaCredentials => ({
  bootstrapServers: ['127.0.0.1:9093'],
  apiKey: 'key',
  apiSecret: 'not-a-real-secret',
});

describe('librdkafka backend: settings', () => {
  test('acks=all, idempotent, transactional with the slot id, compressed, TLS verified against the CA, bounded', () => {
    const config = loadConfig({ KAFKA_SSL_CA_FILE: caFile(), KAFKA_COMPRESSION: 'snappy' }).kafka;
    const { global, topic } = librdkafkaSettings(config, creds(), { transactionalId: 'p.t.slot', timeoutMs: 90_000 });
    assert.equal(global['transactional.id'], 'p.t.slot');
    assert.equal(global['transaction.timeout.ms'], 90_000);
    assert.equal(global['enable.idempotence'], true);
    assert.equal(topic['request.required.acks'], -1);
    assert.equal(global['compression.codec'], 'snappy');
    assert.equal(global['security.protocol'], 'sasl_ssl');
    assert.equal(global['enable.ssl.certificate.verification'], true);
    assert.equal(global['ssl.endpoint.identification.algorithm'], 'https');
    assert.equal(global['ssl.ca.location'], caFile());
    assert.equal(topic['partitioner'], 'murmur2_random');
    assert.equal(global['delivery.report.only.error'], true);
    // A record is retried across leader moves for as long as its transaction may live, no longer.
    assert.equal(topic['message.timeout.ms'], 90_000);
    assert.ok(Number(global['socket.timeout.ms']) <= config.requestTimeoutMs);
  });

  test('the native module is librdkafka with the features this backend uses', () => {
    for (const feature of ['ssl', 'sasl_plain', 'snappy', 'gzip']) assert.ok(rd.features.includes(feature), feature);
    assert.match(rd.librdkafkaVersion, /^2\./);
  });
});

describe('librdkafka backend: errors', () => {
  const E = rd.CODES.ERRORS;
  const cases: [string, number, new (...a: never[]) => Error, boolean][] = [
    ['local _FENCED', E.ERR__FENCED, ProducerFencedError, true],
    ['PRODUCER_FENCED (90)', 90, ProducerFencedError, true],
    ['INVALID_PRODUCER_EPOCH', E.ERR_INVALID_PRODUCER_EPOCH, ProducerFencedError, true],
    ['local _AUTHENTICATION', E.ERR__AUTHENTICATION, AuthenticationError, false],
    ['TOPIC_AUTHORIZATION_FAILED', E.ERR_TOPIC_AUTHORIZATION_FAILED, AuthenticationError, false],
    ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', E.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, AuthenticationError, false],
    ['MSG_SIZE_TOO_LARGE', E.ERR_MSG_SIZE_TOO_LARGE, DeliveryRejectedError, false],
    ['INVALID_TRANSACTION_TIMEOUT', E.ERR_INVALID_TRANSACTION_TIMEOUT, KafkaRequestRejectedError, false],
    // Retriable in Kafka: stale metadata after a move (a missing topic is named before any send).
    ['UNKNOWN_TOPIC_OR_PART', E.ERR_UNKNOWN_TOPIC_OR_PART, TransientError, true],
    ['local _UNKNOWN_TOPIC', E.ERR__UNKNOWN_TOPIC, TransientError, true],
    ['UNKNOWN (broker, -1)', E.ERR_UNKNOWN, TransientError, true],
    ['NOT_ENOUGH_REPLICAS', E.ERR_NOT_ENOUGH_REPLICAS, TransientError, true],
    ['NOT_LEADER_FOR_PARTITION', E.ERR_NOT_LEADER_FOR_PARTITION, TransientError, true],
    [
      'an unknown non-retriable broker error (POLICY_VIOLATION)',
      E.ERR_POLICY_VIOLATION,
      KafkaRequestRejectedError,
      false,
    ],
    ['local _MSG_TIMED_OUT', E.ERR__MSG_TIMED_OUT, TransientError, true],
    ['local _TRANSPORT', E.ERR__TRANSPORT, TransientError, true],
    ['local _ALL_BROKERS_DOWN', E.ERR__ALL_BROKERS_DOWN, TransientError, true],
    ['local _STATE', E.ERR__STATE, TransientError, true],
  ];
  for (const [name, code, type, retryable] of cases) {
    test(`${name} → ${type.name}${retryable ? '' : ' (non-retryable)'}`, () => {
      const mapped = producerErrorFromLibrdkafka(rd, { code, message: `librdkafka says ${code}` }, 'sending');
      assert.ok(mapped instanceof type, `${mapped.name}: ${mapped.message}`);
      assert.equal(mapped.retryable, retryable);
      assert.match(mapped.message, /sending/);
    });
  }
  test('after the fatal "fenced" event, a record purged from the queue is ProducerFencedError (not restarted)', () => {
    const events = {
      recordFailure: { code: E.ERR__PURGE_QUEUE, message: 'Local: Purged in queue' },
      authFailed: false,
      opened: true,
      lastProblem: 'Fatal transaction error: ProduceRequest failed: transactional producer fenced',
      fenced: { code: E.ERR__FATAL, isFatal: true, message: 'This instance has been fenced by a newer instance' },
    } as unknown as Parameters<typeof describeFailure>[1];
    const purged = { code: E.ERR__PURGE_QUEUE, message: 'Local: Purged in queue' };
    const mapped = describeFailure(rd, events, purged, 'sending records');
    assert.ok(mapped instanceof ProducerFencedError, `${mapped.name}: ${mapped.message}`);
    assert.match(mapped.message, /took over while sending records \(PRODUCER_FENCED\)/);
    const unfenced = describeFailure(rd, { ...events, fenced: undefined }, purged, 'sending records');
    assert.ok(!(unfenced instanceof ProducerFencedError), 'a purge alone is not a fence');
  });
});

describe('librdkafka backend: a missing native build', () => {
  test('is a non-retryable ConfigError naming KAFKA_CLIENT and how to build it', async () => {
    const load = librdkafkaLoader(() =>
      Promise.reject(new Error("Cannot find module '@confluentinc/kafka-javascript'")),
    );
    await assert.rejects(load(), (err: Error) => {
      assert.ok(err instanceof ConfigError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, /KAFKA_CLIENT=librdkafka/);
      assert.match(err.message, /npm run setup/);
      assert.match(err.message, /Cannot find module/);
      return true;
    });
  });
});

describe('librdkafka backend: its own connection to the real broker', () => {
  const config = () =>
    loadConfig({
      ...process.env,
      KAFKA_CONNECTION_TIMEOUT_MS: '3000',
      KAFKA_REQUEST_TIMEOUT_MS: '3000',
      KAFKA_SEND_TIMEOUT_MS: '4000',
    }).kafka;
  const realCreds = async (): Promise<KafkaCredentials> => {
    const secret = await readSecretJson('confluent/kafka-cluster');
    return {
      bootstrapServers: secret['bootstrap_servers']!.split(','),
      apiKey: secret['api_key']!,
      apiSecret: secret['api_secret']!,
    };
  };
  const options = () => ({ transactionalId: uniqueName('rd-test'), timeoutMs: 60_000 });

  test('opens a transaction with the real secret (the fence), and commits nothing when the work throws', async () => {
    const logger = createLogger('error');
    const opts = options();
    const tx = await openTransaction(rd, await realCreds(), config(), opts, logger);
    await assert.rejects(
      runTransaction(
        tx,
        opts,
        async () => {
          throw new Error('work failed');
        },
        logger,
      ),
      /work failed/,
    );
  });

  test('a wrong password is a non-retryable AuthenticationError within the bounds, without the password', async () => {
    const { logger, lines } = captureLogger();
    const wrong = { ...(await realCreds()), apiSecret: 'hunter2-wrong' };
    const started = Date.now();
    await assert.rejects(openTransaction(rd, wrong, config(), options(), logger), (err: Error) => {
      assert.ok(err instanceof AuthenticationError, `${err.name}: ${err.message}`);
      assert.equal(err.retryable, false);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    assert.ok(Date.now() - started < 3000 + 3000 + 2000 + 5000, `took ${Date.now() - started} ms`);
    assert.deepEqual(
      lines.filter((l) => l.includes('hunter2')),
      [],
    );
  });

  test('TLS is verified: without the CA that signed the broker certificate, no connection is made', async () => {
    const noCa = { ...config(), caFile: undefined };
    await assert.rejects(
      openTransaction(rd, await realCreds(), noCa, options(), createLogger('error')),
      (err: Error) => {
        assert.ok(err instanceof TransientError, `${err.name}: ${err.message}`);
        assert.match(err.message, /SSL|certificate/i, 'the failure names the TLS handshake');
        return true;
      },
    );
  });
});
