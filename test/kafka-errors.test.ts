// Kafka error classification (src/kafka/errors.ts): what each kafkajs error becomes, and whether it is retryable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import {
  AuthenticationError,
  ConcurrentTransactionError,
  KafkaRequestRejectedError,
  ProducerFencedError,
  TransientError,
} from '../src/errors.ts';
import { producerErrorFromKafkajs } from '../src/kafka/errors.ts';

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
    // Left after the client's retries: another producer of the id is opening (not restarted in the attempt).
    ['CONCURRENT_TRANSACTIONS', protocol('CONCURRENT_TRANSACTIONS', true, 51), ConcurrentTransactionError, true],
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
