// The kafkajs backend: one Kafka transaction on its own kafkajs producer. Opening it registers the transactional id
// with the coordinator (InitProducerId), which bumps the epoch: the broker aborts whatever an
// earlier producer with that id left open and refuses its later writes and commits. Only then
// does the caller's work run. The producer is closed after the commit or abort.
import { CompressionTypes, Partitioners, type Kafka, type Producer, type Transaction } from 'kafkajs';
import type { Config } from '../../config/index.ts';
import { TransientError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { withTimeout } from '../../timeout.ts';
import { producerErrorFromKafkajs } from '../errors.ts';
import {
  stallBoundMs,
  type BackendTransaction,
  type ProducerTransaction,
  type TopicBatch,
  type TransactionOptions,
} from '../backend.ts';

const COMPRESSION = {
  snappy: CompressionTypes.Snappy,
  gzip: CompressionTypes.GZIP,
  none: CompressionTypes.None,
} as const;

/** A kafkajs call bounded in time (KAFKA_SEND_TIMEOUT_MS unless told), its error mapped onto ours. */
type BoundedCall = <T>(call: Promise<T>, what: string, timeoutMs?: number) => Promise<T>;

/** Opens the producer and its transaction (the fence). Closes the producer again if that fails. */
export async function openTransaction(
  kafka: Kafka,
  config: Config['kafka'],
  options: TransactionOptions,
  logger: Logger,
): Promise<BackendTransaction> {
  const producer = transactionalProducer(kafka, options);
  const { bounded, pending } = boundedCalls(config);
  const close = () => closeProducer(producer, pending);

  let tx: Transaction;
  try {
    await bounded(producer.connect(), 'connecting the transactional producer');
    tx = await bounded(producer.transaction(), `registering transactional id ${options.transactionalId}`);
  } catch (err) {
    await close();
    throw err;
  }
  logger.debug('kafka transaction open', { transactionalId: options.transactionalId });
  return {
    ...sender(tx, config, bounded),
    ...commitAndAbort(tx, bounded, stallBoundMs(config, options)),
    close,
  };
}

function transactionalProducer(kafka: Kafka, options: TransactionOptions): Producer {
  return kafka.producer({
    // Transactional sends are idempotent in kafkajs whatever this says; false skips a second,
    // non-transactional InitProducerId at connect.
    idempotent: false,
    transactionalId: options.transactionalId,
    transactionTimeout: options.timeoutMs,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Java-compatible murmur2, as kafkajs v2's default; explicit, so kafkajs does not warn.
    createPartitioner: Partitioners.DefaultPartitioner,
    // No resend inside sendBatch: when a leader moves mid-request, kafkajs 2.2.4's retry both
    // skips partitions (it never resends to a broker that already answered) and writes batches
    // twice (the rolling-restart failover test saw 156 events missing, then 348 duplicated, in one
    // committed transaction). A failed send fails the attempt instead; its transaction is aborted
    // and the next attempt, fenced and ledger-checked, sends the run again. Coordinator requests
    // (InitProducerId, AddPartitionsToTxn, EndTxn) keep the client's KAFKA_RETRIES (our patch of
    // kafkajs makes AddPartitionsToTxn and EndTxn retry, as the Java client does).
    retry: { retries: 0 },
  });
}

/** Bounds a producer's kafkajs calls, keeping those still running for `closeProducer`. */
function boundedCalls(config: Config['kafka']): { bounded: BoundedCall; pending: Set<Promise<unknown>> } {
  /** kafkajs calls still running, including ones a timeout gave up on (kafkajs keeps retrying). */
  const pending = new Set<Promise<unknown>>();
  const bounded: BoundedCall = <T>(call: Promise<T>, what: string, timeoutMs = config.sendTimeoutMs) => {
    pending.add(call);
    const settled = () => pending.delete(call);
    call.then(settled, settled);
    return withTimeout(call, timeoutMs, what).catch((err: unknown) => {
      throw producerErrorFromKafkajs(err, what);
    });
  };
  return { bounded, pending };
}

// Closing also stops kafkajs's own retries of this producer's requests (our patch of kafkajs):
// a registration retried after we gave up would fence the attempt that replaced this one.
async function closeProducer(producer: Producer, pending: ReadonlySet<Promise<unknown>>): Promise<void> {
  const disconnect = () => producer.disconnect().catch(() => undefined);
  await disconnect();
  // A call kafkajs is still retrying reconnects on its own; close again once it settles, so no
  // socket of this producer outlives it (and the process can exit).
  for (const call of pending) void call.then(disconnect, disconnect);
}

// Commit and abort retry on the coordinator's retriable answers (a move, a load, a lost answer:
// our patch of kafkajs, patches/), bounded as librdkafka's are.
function commitAndAbort(
  tx: Transaction,
  bounded: BoundedCall,
  endBoundMs: number,
): Pick<BackendTransaction, 'commit' | 'abort'> {
  return {
    async commit() {
      try {
        await bounded(tx.commit(), 'committing the Kafka transaction', endBoundMs);
        return { ok: true };
      } catch (err) {
        // kafkajs cannot abort once a commit began: whatever it did is settled by the next producer.
        return { ok: false, error: err as Error, mustAbort: false };
      }
    },
    async abort() {
      await bounded(tx.abort(), 'aborting the Kafka transaction', endBoundMs);
    },
  };
}

function sender(tx: Transaction, config: Config['kafka'], bounded: BoundedCall): ProducerTransaction {
  return {
    async send(batches: TopicBatch[]) {
      const meta = await bounded(
        tx.sendBatch({
          topicMessages: batches,
          acks: -1,
          timeout: config.requestTimeoutMs,
          compression: COMPRESSION[config.compression],
        }),
        `sending to ${batches.map((b) => b.topic).join(', ')}`,
      );
      checkEveryPartitionAcknowledged(batches, meta);
      return meta.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: Number(m.baseOffset) }));
    },
  };
}

/**
 * A second guard against kafkajs reporting success for a batch it did not wholly send (see the
 * `retry` note above): a batch whose every partition was not acknowledged fails the attempt.
 */
function checkEveryPartitionAcknowledged(
  batches: TopicBatch[],
  meta: { topicName: string; partition: number; errorCode: number }[],
): void {
  const acked = new Set(meta.filter((m) => m.errorCode === 0).map((m) => `${m.topicName}:${m.partition}`));
  const sent = new Set(batches.flatMap((b) => b.messages.map((m) => `${b.topic}:${m.partition}`)));
  const missing = [...sent].filter((tp) => !acked.has(tp));
  if (missing.length > 0) {
    throw new TransientError(
      `Kafka acknowledged ${sent.size - missing.length} of ${sent.size} partitions of a batch (not: ${missing.join(', ')}); ` +
        'a partition leader moved while sending, so this attempt is aborted and retried',
    );
  }
}
