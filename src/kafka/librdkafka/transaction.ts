// The librdkafka backend: one Kafka transaction on its own librdkafka producer (the native
// `Producer` API of @confluentinc/kafka-javascript, not its slower KafkaJS-compatible one).
// Opening it registers the transactional id (InitProducerId), fencing every earlier producer with
// that id, exactly as the kafkajs backend does; then the caller's work runs in the transaction.
//
// Sends hand records to librdkafka's queue, which batches, compresses and sends them on its own
// threads with up to 5 requests in flight per broker; the commit waits until every record is
// acknowledged, and fails (and the transaction is aborted) if any record failed. Delivery reports
// come only for failed records (`delivery.report.only.error`): a JavaScript callback per
// acknowledged record costs more than half the throughput (measured), so this backend reports
// per-partition counts (the engine picks every record's partition) but not offsets.
import type {
  LibrdKafkaError,
  Producer,
  ProducerGlobalConfig,
  ProducerTopicConfig,
} from '@confluentinc/kafka-javascript';
import type { Config } from '../../config/index.ts';
import type { Logger } from '../../logger.ts';
import type { KafkaCredentials } from '../../secrets.ts';
import { withTimeout } from '../../timeout.ts';
import { stallBoundMs, type BackendTransaction, type CommitResult, type TransactionOptions } from '../backend.ts';
import type { RdError } from './errors.ts';
import type { RdKafkaModule } from './load.ts';
import { describeFailure, watchProducerEvents } from './producer-events.ts';
import { sender } from './sender.ts';

/** Records librdkafka holds before a send waits for room (bounds memory on a large run). */
const QUEUE_MAX_MESSAGES = 100_000;
/**
 * librdkafka settings equal in meaning to the kafkajs backend's (see docs/producer-backends.md,
 * "The librdkafka settings").
 */
export function librdkafkaSettings(
  config: Config['kafka'],
  creds: KafkaCredentials,
  options: TransactionOptions,
): { global: ProducerGlobalConfig; topic: ProducerTopicConfig } {
  const global: ProducerGlobalConfig = {
    'client.id': config.clientId,
    'bootstrap.servers': creds.bootstrapServers.join(','),
    'security.protocol': 'sasl_ssl',
    'sasl.mechanisms': 'PLAIN',
    'sasl.username': creds.apiKey,
    'sasl.password': creds.apiSecret,
    // TLS verification stays on (the default), with the broker's host name checked.
    'enable.ssl.certificate.verification': true,
    'ssl.endpoint.identification.algorithm': 'https',
    ...(config.caFile ? { 'ssl.ca.location': config.caFile } : {}),
    'transactional.id': options.transactionalId,
    'transaction.timeout.ms': options.timeoutMs,
    'enable.idempotence': true,
    'compression.codec': config.compression,
    'linger.ms': 5,
    'batch.num.messages': config.batchMaxMessages,
    'batch.size': config.batchMaxBytes,
    'message.max.bytes': Math.max(1_000_000, config.maxMessageBytes + 1024),
    'queue.buffering.max.messages': QUEUE_MAX_MESSAGES,
    'socket.connection.setup.timeout.ms': config.connectionTimeoutMs,
    'socket.timeout.ms': Math.min(config.requestTimeoutMs, options.timeoutMs),
    'retry.backoff.ms': config.retryInitialMs,
    'retry.backoff.max.ms': 5_000,
    // librdkafka's 100 ms default holds back the first metadata request of a new producer: with a
    // producer per transaction that is most of a short run's time (connect 80 ms → 35 ms, measured).
    'reconnect.backoff.ms': config.retryInitialMs,
    dr_cb: true,
    'delivery.report.only.error': true,
  };
  const topic: ProducerTopicConfig = {
    'request.required.acks': -1,
    'request.timeout.ms': config.requestTimeoutMs,
    // librdkafka retries a record across leader and coordinator moves until this much time has
    // passed since produce(): as long as the transaction may live. The waits stay bounded by
    // KAFKA_SEND_TIMEOUT_MS where we wait: a queue that stays full, the commit, the abort.
    'message.timeout.ms': options.timeoutMs,
    // Records with no partition of ours (none today) go where the Java client would put them.
    partitioner: 'murmur2_random',
  };
  return { global, topic };
}

/** A librdkafka call with a callback, bounded (librdkafka's own timeout plus a margin). */
type LibrdkafkaCall = (
  what: string,
  timeoutMs: number,
  start: (done: (err?: LibrdKafkaError | null) => void) => void,
) => Promise<void>;

/** Opens the producer and its transaction (the fence). Closes the producer again if that fails. */
export async function openTransaction(
  rd: RdKafkaModule,
  creds: KafkaCredentials,
  config: Config['kafka'],
  options: TransactionOptions,
  logger: Logger,
  /** Receives the producer's closing once the transaction is over (awaited at shutdown). */
  onClosing: (closing: Promise<void>) => void = (closing) => void closing,
): Promise<BackendTransaction> {
  const settings = librdkafkaSettings(config, creds, options);
  const producer = new rd.Producer(settings.global, settings.topic);
  const events = watchProducerEvents(rd, producer, logger);
  const fail = (err: unknown, what: string): Error => describeFailure(rd, events, err, what);
  const call = boundedCall(fail);
  const close = () => closeProducer(producer, config);

  pollEventsFromConnect(producer);
  try {
    await connectAndBegin(producer, config, options, call);
  } catch (err) {
    await close();
    throw err;
  }
  events.opened = true;
  logger.debug('kafka transaction open', { transactionalId: options.transactionalId, client: 'librdkafka' });

  const throwIfRecordFailed = (what: string) => {
    if (events.recordFailure) throw fail(events.recordFailure, what);
  };
  const stallMs = stallBoundMs(config, options);
  return {
    ...sender(rd, { producer, stallMs, throwIfRecordFailed, fail }),
    commit: () =>
      commitTransaction(producer, stallMs, call, () =>
        events.recordFailure ? fail(events.recordFailure, 'committing') : undefined,
      ),
    abort: () =>
      call('aborting the Kafka transaction', config.sendTimeoutMs, (done) =>
        producer.abortTransaction(config.sendTimeoutMs, done),
      ),
    close: async () => {
      // The outcome is known: the caller need not wait for librdkafka's threads to stop.
      onClosing(close());
    },
  };
}

/** Runs librdkafka calls bounded in time, their failures named by `fail`. */
function boundedCall(fail: (err: unknown, what: string) => Error): LibrdkafkaCall {
  return async (what, timeoutMs, start) => {
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => start((err) => (err ? reject(fail(err, what)) : resolve()))),
        timeoutMs + 1_000,
        what,
      );
    } catch (err) {
      throw fail(err, what);
    }
  };
}

/** Closes the producer, bounded; a close that fails or stalls is given up on silently. */
function closeProducer(producer: Producer, config: Config['kafka']): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => producer.disconnect(config.connectionTimeoutMs, () => resolve())),
    config.connectionTimeoutMs + 1_000,
    'closing the librdkafka producer',
  ).catch(() => undefined);
}

/**
 * Serves librdkafka's events (and so sees a refused login or a failed TLS handshake) from the
 * moment the client exists: connect() creates it, then asks for metadata through getMetadata,
 * which this wraps.
 */
function pollEventsFromConnect(producer: Producer): void {
  const getMetadata = producer.getMetadata.bind(producer);
  producer.getMetadata = (metadataOptions, cb) => {
    producer.getMetadata = getMetadata; // once: later calls are plain metadata requests
    producer.setPollInBackground(true);
    getMetadata(metadataOptions, cb);
  };
}

/** Connects, registers the transactional id (InitProducerId: the fence) and begins the transaction. */
async function connectAndBegin(
  producer: Producer,
  config: Config['kafka'],
  options: TransactionOptions,
  call: LibrdkafkaCall,
): Promise<void> {
  const connectTimeoutMs = config.connectionTimeoutMs + config.requestTimeoutMs;
  // Metadata for the events topic only: the client's default (allTopics) fetches and converts
  // every topic in the cluster, twice per run here (46 ms per open with 650 topics, measured).
  const metadata = { topic: config.topic, allTopics: false, timeout: connectTimeoutMs };
  await call('connecting the transactional producer', connectTimeoutMs, (done) =>
    producer.connect(metadata, (err) => done(err)),
  );
  // connect() got its metadata from the bootstrap connection, which librdkafka then retires; the
  // broker it learned is often still in its TLS handshake. initTransactions finding no broker up
  // backs off 500 ms before it asks for the coordinator (librdkafka's fixed coordinator-query
  // timer): one run in ten or twenty paid that. A metadata request waits for a broker to be up.
  await call('waiting for a broker connection', connectTimeoutMs, (done) => {
    producer.getMetadata(metadata, (err) => done(err));
  });
  await call(`registering transactional id ${options.transactionalId}`, config.sendTimeoutMs, (done) =>
    producer.initTransactions(config.sendTimeoutMs, done),
  );
  await call('beginning the Kafka transaction', config.requestTimeoutMs, (done) => producer.beginTransaction(done));
}

/**
 * librdkafka's commit, handled as its documentation says: an error marked retriable (a timeout:
 * the commit may still be running) means call commit again, which resumes it; one that requires
 * an abort means the transaction did not commit; a fatal one means this producer can do nothing
 * more (the next one with the id fences it). The tries stop after `boundMs` in all.
 */
export async function commitTransaction(
  producer: Pick<Producer, 'commitTransaction'>,
  boundMs: number,
  call: LibrdkafkaCall,
  recordFailure: () => Error | undefined,
): Promise<CommitResult> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    const left = Math.max(1_000, deadline - performance.now());
    try {
      await call('committing the Kafka transaction', left, (done) => producer.commitTransaction(left, done));
      return { ok: true };
    } catch (err) {
      const rd = ((err as Error).cause ?? err) as RdError;
      const failed = recordFailure();
      if (rd.isTxnRequiresAbort || failed) return { ok: false, error: failed ?? (err as Error), mustAbort: true };
      if (rd.isFatal || !rd.isRetriable || performance.now() >= deadline) {
        return { ok: false, error: err as Error, mustAbort: false };
      }
      // Retriable: the commit is still in progress or may be resumed; ask again.
    }
  }
}
