// librdkafka's errors in our vocabulary (src/kafka/librdkafka/errors.ts), with a fake CODES table so
// the native package is never loaded: broker errors by protocol code, local errors by what they mean.
// test/librdkafka.test.ts checks the same mapping against the real module when it is built.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthenticationError,
  ConfigError,
  DeliveryRejectedError,
  KafkaRequestRejectedError,
  ProducerFencedError,
  TransientError,
} from '../src/errors.ts';
import { isAuthenticationFailure, producerErrorFromLibrdkafka } from '../src/kafka/librdkafka/errors.ts';
import type { RdKafkaModule } from '../src/kafka/librdkafka/load.ts';

/** A few of librdkafka's codes (their real values), as the module exports them. */
const ERRORS = {
  ERR__UNKNOWN_PARTITION: -190,
  ERR__UNKNOWN_TOPIC: -188,
  ERR__TIMED_OUT: -185,
  ERR__AUTHENTICATION: -169,
  ERR__FENCED: -144,
  ERR_MSG_SIZE_TOO_LARGE: 10,
  ERR_SASL_AUTHENTICATION_FAILED: 58,
};
const rd = { CODES: { ERRORS } } as unknown as Pick<RdKafkaModule, 'CODES'>;
const map = (code: number | undefined, message = 'librdkafka says no') =>
  producerErrorFromLibrdkafka(rd, { code, message }, 'sending records');

test('broker errors are judged by their protocol code, as for kafkajs', () => {
  const cases: [number, new (...args: never[]) => Error, RegExp][] = [
    [90, ProducerFencedError, /took over while sending records \(PRODUCER_FENCED\)/],
    [10, DeliveryRejectedError, /rejected records while sending records: MESSAGE_TOO_LARGE/],
    [35, KafkaRequestRejectedError, /UNSUPPORTED_VERSION: librdkafka says no/],
    [51, TransientError, /\(CONCURRENT_TRANSACTIONS\)/],
  ];
  for (const [code, type, message] of cases) {
    const mapped = map(code);
    assert.ok(mapped instanceof type, `${code}: ${mapped.name}`);
    assert.match(mapped.message, message);
  }
});

test('local errors naming a protocol condition are judged as it; the rest are worth another attempt', () => {
  assert.ok(map(ERRORS.ERR__FENCED) instanceof ProducerFencedError);
  for (const code of [ERRORS.ERR__UNKNOWN_TOPIC, ERRORS.ERR__UNKNOWN_PARTITION]) {
    assert.match(map(code).message, /did not know a topic or partition while sending records/);
  }
  const timedOut = map(ERRORS.ERR__TIMED_OUT, 'Local: Timed out');
  assert.ok(timedOut instanceof TransientError);
  assert.equal(timedOut.message, 'Kafka error while sending records: Local: Timed out');
  assert.ok(map(-999) instanceof TransientError, 'a code not in the table');
  assert.ok(map(undefined) instanceof TransientError, 'no code at all');
});

test('a refused login, local or from the broker, is an AuthenticationError', () => {
  for (const code of [ERRORS.ERR__AUTHENTICATION, ERRORS.ERR_SASL_AUTHENTICATION_FAILED]) {
    assert.equal(isAuthenticationFailure(rd, { code }), true);
    const mapped = map(code, 'SASL authentication error: bad key');
    assert.ok(mapped instanceof AuthenticationError, mapped.name);
    assert.match(mapped.message, /refused the credentials from the Kafka secret while sending records/);
  }
  assert.equal(isAuthenticationFailure(rd, {}), false);
});

test('our own errors pass through; a bare value still becomes an error naming what we were doing', () => {
  const own = new ConfigError('already ours');
  assert.equal(producerErrorFromLibrdkafka(rd, own, 'x'), own);
  const bare = producerErrorFromLibrdkafka(rd, 'boom', 'committing');
  assert.ok(bare instanceof TransientError);
  assert.equal(bare.message, 'Kafka error while committing: boom');
});
