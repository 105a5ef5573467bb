// Our producer interface and its kafkajs implementation. kafkajs is unmaintained, so nothing
// outside this folder imports it: another client can replace it behind `EventProducer`.
import { readFileSync } from 'node:fs';
import {
  CompressionTypes,
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type Transaction as KafkajsTransaction,
} from 'kafkajs';
import type { Config } from '../config.ts';
import {
  AuthenticationError,
  DeliveryRejectedError,
  ProducerError,
  TopicNotFoundError,
  TransientError,
  errorMessage,
} from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CredentialSource, KafkaCredentials } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { readTopic, type ReadRecord } from './read-topic.ts';
import { registerSnappyCodec } from './snappy-codec.ts';

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  partition: number;
  timestamp?: string;
}

export interface TopicBatch {
  topic: string;
  messages: OutgoingMessage[];
}

/** What the broker acknowledged for one partition of one send: offsets baseOffset.. baseOffset+count-1. */
export interface PartitionAck {
  topic: string;
  partition: number;
  baseOffset: number;
}

export interface ProducerTransaction {
  send(batches: TopicBatch[]): Promise<PartitionAck[]>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface EventProducer {
  /** Partition counts of `topics`; TopicNotFoundError names the first that does not exist. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Every committed record of a (small) topic, oldest first per partition. */
  readCommitted(topic: string): Promise<ReadRecord[]>;
  /** Runs `work` inside one Kafka transaction: committed when it resolves, aborted when it throws. */
  inTransaction<T>(work: (tx: ProducerTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const COMPRESSION = {
  snappy: CompressionTypes.Snappy,
  gzip: CompressionTypes.GZIP,
  none: CompressionTypes.None,
} as const;

const REJECTED = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_REQUIRED_ACKS',
]);
const UNAUTHORISED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

/** Maps a kafkajs error onto ours, naming what we were doing. */
export function toProducerError(err: unknown, what: string): ProducerError {
  if (err instanceof ProducerError) return err;
  const e = err as { name?: string; type?: string; message?: string; cause?: unknown };
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause) return toProducerError(e.cause, what);
  if (e.name === 'KafkaJSSASLAuthenticationError') {
    return new AuthenticationError(`Kafka refused the credentials from the Kafka secret while ${what}: ${e.message}`);
  }
  if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    return new TopicNotFoundError(
      `a topic does not exist while ${what} (${e.message}); create it with "npm run topics -- ensure"`,
    );
  }
  if (e.type && UNAUTHORISED.has(e.type))
    return new AuthenticationError(`Kafka denied access while ${what}: ${e.type}`);
  if (e.type && REJECTED.has(e.type))
    return new DeliveryRejectedError(`Kafka rejected records while ${what}: ${e.type}`);
  return new TransientError(`Kafka error while ${what}: ${e.message ?? errorMessage(err)}`, { cause: err });
}

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...meta } = log;
      // Bounded retries cannot break exactly-once here: every send is inside a transaction that
      // is aborted when it fails, so this kafkajs warning does not apply.
      if (message.startsWith('Limiting retries for the idempotent producer'))
        return logger.debug(`kafkajs: ${message}`, meta);
      // kafkajs is chatty at INFO (connects, joins); keep that at debug. Its errors are ours to report.
      if (level <= KafkaLogLevel.WARN) logger.warn(`kafkajs: ${message}`, meta);
      else logger.debug(`kafkajs: ${message}`, meta);
    };
}

/** kafkajs client settings from the secret + config: SASL_SSL + PLAIN, TLS verification on. */
export function kafkaClientConfig(config: Config['kafka'], creds: KafkaCredentials, logger: Logger): KafkaConfig {
  return {
    clientId: config.clientId,
    brokers: creds.bootstrapServers,
    ssl: { rejectUnauthorized: true, ...(config.caFile ? { ca: [readFileSync(config.caFile, 'utf8')] } : {}) },
    sasl: { mechanism: 'plain', username: creds.apiKey, password: creds.apiSecret },
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.retries, initialRetryTime: config.retryInitialMs, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogCreator(logger),
  };
}

interface Connected {
  kafka: Kafka;
  producer: Producer;
  admin: Admin;
  /** kafkajs calls still running, including ones our timeouts gave up on (kafkajs keeps retrying). */
  pending: Set<Promise<unknown>>;
}

// Each producer in a process gets its own transactional id: two sharing one would fence each other.
let producersCreated = 0;

export function createKafkaProducer(deps: {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}): EventProducer {
  const { config, credentials, logger } = deps;
  const transactionalId = `${config.transactionalId}-${producersCreated++}`;
  registerSnappyCodec();
  let connecting: Promise<Connected> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const partitionCache = new Map<string, number>();

  async function connectOnce(): Promise<Connected> {
    const creds = await credentials.kafka();
    const kafka = new Kafka(kafkaClientConfig(config, creds, logger));
    const producer = kafka.producer({
      idempotent: true,
      transactionalId,
      transactionTimeout: config.transactionTimeoutMs,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2, as kafkajs v2's default; explicit, so kafkajs does not warn.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const admin = kafka.admin({ retry: { retries: 2 } });
    const bound = config.connectionTimeoutMs + config.requestTimeoutMs;
    try {
      await withTimeout(producer.connect(), bound, 'connecting the Kafka producer');
      await withTimeout(admin.connect(), bound, 'connecting the Kafka admin client');
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw toProducerError(err, 'connecting to Kafka');
    }
    logger.info('kafka producer connected', {
      brokers: creds.bootstrapServers,
      transactionalId,
    });
    return { kafka, producer, admin, pending: new Set() };
  }

  async function connect(): Promise<Connected> {
    try {
      return await connectOnce();
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      // Rotation: the cached secret may be stale. Re-read it once and rebuild the client.
      logger.warn('kafka refused the cached credentials; re-reading the secret once');
      credentials.invalidate('kafka');
      try {
        return await connectOnce();
      } catch (retryErr) {
        if (retryErr instanceof AuthenticationError) {
          throw new AuthenticationError(`${retryErr.message} (also after re-reading the secret)`);
        }
        throw retryErr;
      }
    }
  }

  function connected(): Promise<Connected> {
    connecting ??= connect();
    connecting.catch(() => (connecting = undefined));
    return connecting;
  }

  /** Throws the client away so the next call reconnects (after a timeout or a broken transaction). */
  async function reset(): Promise<void> {
    const current = connecting;
    connecting = undefined;
    if (!current) return;
    const c = await current.catch(() => undefined);
    if (!c) return;
    const disconnect = () => Promise.allSettled([c.producer.disconnect(), c.admin.disconnect()]);
    await disconnect();
    // A call kafkajs is still retrying reconnects on its own; close again once it settles, so no
    // socket of the old client outlives it (and the process can exit).
    for (const call of c.pending) void call.then(disconnect, disconnect);
  }

  function txSender(c: Connected, tx: KafkajsTransaction): ProducerTransaction {
    /** Bounds a kafkajs call while keeping track of it until it really settles. */
    const bounded = <T>(call: Promise<T>, what: string): Promise<T> => {
      c.pending.add(call);
      call.then(
        () => c.pending.delete(call),
        () => c.pending.delete(call),
      );
      return withTimeout(call, config.sendTimeoutMs, what);
    };
    return {
      async send(batches) {
        try {
          const meta = await bounded(
            tx.sendBatch({
              topicMessages: batches,
              acks: -1,
              timeout: config.requestTimeoutMs,
              compression: COMPRESSION[config.compression],
            }),
            'sending a batch to Kafka',
          );
          return meta.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: Number(m.baseOffset) }));
        } catch (err) {
          throw toProducerError(err, `sending to ${batches.map((b) => b.topic).join(', ')}`);
        }
      },
      commit: () => bounded(tx.commit(), 'committing the Kafka transaction'),
      abort: () => bounded(tx.abort(), 'aborting the Kafka transaction'),
    };
  }

  return {
    async partitionCounts(topics) {
      const missing = topics.filter((t) => !partitionCache.has(t));
      if (missing.length > 0) {
        const c = await connected();
        let existing: string[];
        try {
          existing = await withTimeout(c.admin.listTopics(), config.requestTimeoutMs, 'listing Kafka topics');
        } catch (err) {
          await reset();
          throw toProducerError(err, 'listing topics');
        }
        for (const topic of missing) {
          if (!existing.includes(topic)) {
            throw new TopicNotFoundError(
              `topic ${topic} does not exist (auto-creation is off); create it with "npm run topics -- ensure"`,
            );
          }
        }
        const meta = await withTimeout(
          c.admin.fetchTopicMetadata({ topics: missing }),
          config.requestTimeoutMs,
          'reading topic metadata',
        );
        for (const t of meta.topics) partitionCache.set(t.name, t.partitions.length);
      }
      return new Map(topics.map((t) => [t, partitionCache.get(t)!]));
    },

    async readCommitted(topic) {
      const c = await connected();
      try {
        return await readTopic(c.kafka, topic, { idleMs: 500, timeoutMs: config.sendTimeoutMs });
      } catch (err) {
        throw toProducerError(err, `reading ${topic}`);
      }
    },

    inTransaction<T>(work: (tx: ProducerTransaction) => Promise<T>): Promise<T> {
      // One transaction at a time per transactional producer: runs queue here.
      const run = queue.then(async () => {
        const c = await connected();
        let tx: KafkajsTransaction;
        try {
          tx = await withTimeout(c.producer.transaction(), config.sendTimeoutMs, 'beginning a Kafka transaction');
        } catch (err) {
          await reset();
          throw toProducerError(err, 'beginning a transaction');
        }
        const sender = txSender(c, tx);
        let result: T;
        try {
          result = await work(sender);
        } catch (err) {
          await sender.abort().catch((abortErr: unknown) => {
            logger.warn('aborting the Kafka transaction failed', { error: errorMessage(abortErr) });
          });
          // Always start over with a new producer. A send that timed out keeps retrying inside
          // kafkajs, and kafkajs's abort sends nothing while no partition was registered yet: its
          // records could land later in the next transaction of this producer and be committed
          // with it. A new producer with the same transactional id bumps the epoch, so the
          // broker aborts whatever the old one left open and fences its late writes.
          await reset();
          throw err;
        }
        try {
          await sender.commit();
        } catch (err) {
          await reset();
          throw toProducerError(err, 'committing the transaction');
        }
        return result;
      });
      queue = run.catch(() => undefined);
      return run;
    },

    async close() {
      await queue;
      await reset();
    },
  };
}
