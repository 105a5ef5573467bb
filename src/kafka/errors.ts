// Maps Kafka client errors (kafkajs here, librdkafka in librdkafka/errors.ts) onto ours, split by
// whether a new attempt (with a new producer) can succeed. Unknown protocol errors that the client
// itself calls non-retriable stay non-retryable: retrying a setting or an authorisation problem
// four times only hides it.
import { createRequire } from 'node:module';
import {
  AuthenticationError,
  DeliveryRejectedError,
  KafkaRequestRejectedError,
  ProducerError,
  ConcurrentTransactionError,
  ProducerFencedError,
  TransientError,
  errorMessage,
} from '../errors.ts';

/** kafkajs's table of protocol error codes (not exported from its entry point). */
const PROTOCOL_ERRORS = (
  createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
    errorCodes: { type: string; code: number; retriable: boolean }[];
  }
).errorCodes;

/** Records the broker will not take, whatever we retry. */
const REJECTED = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);
const UNAUTHORISED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
/** A newer producer with our transactional id exists: this attempt was taken over. */
const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTION_COORDINATOR_FENCED']);
/** This producer's transactional state is broken; a new producer (the next attempt) starts clean. */
const START_OVER = new Set([
  'INVALID_TXN_STATE',
  'UNKNOWN_PRODUCER_ID',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_ID_MAPPING',
  'DUPLICATE_SEQUENCE_NUMBER',
]);
/** Error codes newer than the kafkajs error table (it reports them as KAFKAJS_UNKNOWN_ERROR_CODE). */
const NEWER_CODES: Record<number, string> = { 89: 'THROTTLING_QUOTA_EXCEEDED', 90: 'PRODUCER_FENCED' };
const NEWER_RETRIABLE = new Set(['THROTTLING_QUOTA_EXCEEDED']);

/** A client's error in the vocabulary both backends share: the Kafka protocol error name (as kafkajs spells it). */
interface KafkaFailure {
  /** The protocol (or client) error name, e.g. PRODUCER_FENCED, or undefined when there is none. */
  type: string | undefined;
  /** The client said retrying cannot help (undefined: the client does not say). */
  nonRetriable?: boolean;
  /** Kafka refused the credentials (SASL). */
  authentication?: boolean;
  message: string;
  cause: unknown;
}

/** Maps a Kafka failure onto our errors, naming what we were doing. */
export function classifyKafkaFailure(f: KafkaFailure, what: string): ProducerError {
  const { type } = f;
  if (f.authentication) {
    return new AuthenticationError(`Kafka refused the credentials from the Kafka secret while ${what}: ${f.message}`);
  }
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    // Kafka marks it retriable: a broker whose metadata lags a leadership move or a new partition
    // answers it too. A topic that does not exist is named (non-retryably) from metadata before
    // anything is sent (EventProducer.partitionCounts: TopicNotFoundError).
    return new TransientError(
      `a broker did not know a topic or partition while ${what} (${f.message}); its metadata may lag a leadership move`,
      { cause: f.cause },
    );
  }
  if (type && UNAUTHORISED.has(type)) return new AuthenticationError(`Kafka denied access while ${what}: ${type}`);
  if (type && REJECTED.has(type)) return new DeliveryRejectedError(`Kafka rejected records while ${what}: ${type}`);
  if (type && FENCED.has(type)) {
    return new ProducerFencedError(
      `a newer attempt of this run took over while ${what} (${type}); this attempt's writes are discarded`,
      { cause: f.cause },
    );
  }
  if (type === 'CONCURRENT_TRANSACTIONS') {
    return new ConcurrentTransactionError(
      `another producer with this transactional id was opening or ending a transaction while ${what} ` +
        `(${type}): a run of the same source or the same run started at the same time`,
      { cause: f.cause },
    );
  }
  if (type === 'INVALID_TRANSACTION_TIMEOUT') {
    return new KafkaRequestRejectedError(
      `Kafka refused the transaction timeout while ${what}: it is above the broker's transaction.max.timeout.ms. ` +
        `Lower the activity's start-to-close timeout (ACTIVITY_START_TO_CLOSE_TIMEOUT_MS) or raise the broker setting`,
    );
  }
  // UNKNOWN_SERVER_ERROR (kafkajs: UNKNOWN, code -1): the broker failed unexpectedly; the Java
  // client retries it, and so does a new attempt here.
  const known = type && (START_OVER.has(type) || NEWER_RETRIABLE.has(type) || type === 'UNKNOWN');
  if (type && !known && f.nonRetriable) {
    return new KafkaRequestRejectedError(`Kafka refused a request while ${what}: ${type}: ${f.message}`);
  }
  return new TransientError(`Kafka error while ${what}: ${f.message}`, { cause: f.cause });
}

interface KafkajsError {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
}

/**
 * A Kafka protocol error code (the same for every client) as kafkajs's error table names it, with
 * whether kafkajs retries it; codes newer than that table by our own names.
 */
export function protocolError(code: number): { type: string; retriable: boolean } {
  const known = PROTOCOL_ERRORS.find((e) => e.code === code);
  if (known) return { type: known.type, retriable: known.retriable };
  const newer = NEWER_CODES[code];
  return newer
    ? { type: newer, retriable: NEWER_RETRIABLE.has(newer) }
    : { type: `error code ${code}`, retriable: true };
}

function kafkajsType(e: KafkajsError): string | undefined {
  if (e.type !== 'KAFKAJS_UNKNOWN_ERROR_CODE') return e.type;
  const code = /Unknown error code (\d+)/.exec(e.message ?? '')?.[1];
  return code ? (NEWER_CODES[Number(code)] ?? `error code ${code}`) : e.type;
}

/** Maps a kafkajs error onto ours, naming what we were doing. */
export function producerErrorFromKafkajs(err: unknown, what: string): ProducerError {
  if (err instanceof ProducerError) return err;
  const e = (err ?? {}) as KafkajsError;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause) return producerErrorFromKafkajs(e.cause, what);
  return classifyKafkaFailure(
    {
      type: kafkajsType(e),
      nonRetriable: Boolean(e.name?.startsWith('KafkaJS')) && e.retriable === false,
      authentication: e.name === 'KafkaJSSASLAuthenticationError',
      message: e.message ?? errorMessage(err),
      cause: err,
    },
    what,
  );
}
