// Our producer interface, and the process's producer over one of two client backends:
// kafkajs (the default, src/kafka/kafkajs/) or librdkafka (KAFKA_CLIENT=librdkafka,
// src/kafka/librdkafka/). A backend only opens transactions; everything else is shared here:
// the long-lived kafkajs client for topic metadata and the run ledger (shared-client.ts),
// credential rotation, partitioning (partitioner.ts) and error classification (errors.ts).
//
// One transaction is one short-lived transactional producer whose transactional id the caller
// picks: a run's id is the same in every attempt and every process, so opening the transaction
// fences every earlier producer of the run before the caller decides anything (src/run-ledger/).
import type { Config } from '../config.ts';
import { TopicNotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RunLedger } from '../run-ledger/index.ts';
import type { CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkajsBackend } from './kafkajs/backend.ts';
import { librdkafkaBackend } from './librdkafka/backend.ts';
import { createSharedClient, withRotation, type SharedClient } from './shared-client.ts';

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  partition: number;
  timestamp?: string;
  /** Record headers (the W3C `traceparent` when tracing is on); one object shared by a run's records. */
  headers?: Record<string, string>;
}

export interface TopicBatch {
  topic: string;
  messages: OutgoingMessage[];
}

/**
 * What the client reports for one partition of one send: offsets baseOffset..baseOffset+count-1,
 * or null where the backend does not learn offsets (librdkafka: see librdkafka/transaction.ts).
 */
export interface PartitionAck {
  topic: string;
  partition: number;
  baseOffset: number | null;
}

export interface ProducerTransaction {
  /**
   * Hands the batches to the client. kafkajs resolves once the broker acknowledged them;
   * librdkafka once its queue took them (the commit waits for every acknowledgement, and a
   * record that fails fails the commit). Either way nothing is visible before the commit.
   */
  send(batches: TopicBatch[]): Promise<PartitionAck[]>;
}

export interface TransactionOptions {
  /** Every producer with this id, in any process, is fenced when this transaction opens. */
  transactionalId: string;
  /** How long the broker lets the transaction stay open before aborting it. */
  timeoutMs: number;
  /** Checked once the transaction is open (fenced) and again before the commit. */
  throwIfCancelled?: () => void;
  /** Told how long the commit took, or that the transaction was aborted (metrics). */
  observe?: { committed(seconds: number): void; aborted(): void };
}

/** A transaction whose producer is registered (earlier producers of its id fenced) and begun. */
export interface OpenTransaction {
  /** Runs `work` in the transaction: committed when it resolves, aborted when it throws; the producer is closed after. */
  run<T>(work: (tx: ProducerTransaction) => Promise<T>): Promise<T>;
}

/** What a client backend provides: transactions, nothing else. */
export interface ProducerBackend {
  readonly name: Config['kafka']['client'];
  /** Fails (ConfigError) when the backend cannot run here, e.g. its native module is missing. */
  ready(): Promise<void>;
  open(options: TransactionOptions): Promise<OpenTransaction>;
  /** Waits for producers still closing (librdkafka closes them after the outcome is known). */
  close?(): Promise<void>;
}

export interface EventProducer {
  /** The client backend producing records (kafkajs or librdkafka). */
  readonly client: Config['kafka']['client'];
  /** Fails when the configured backend cannot run here (checked at worker start). */
  ready(): Promise<void>;
  /** Partition counts of `topics`; TopicNotFoundError names the first that does not exist. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /**
   * Starts a producer with `options.transactionalId` (fencing every earlier producer with that id,
   * in any process) and runs `work` inside one Kafka transaction: committed when it resolves,
   * aborted when it throws. The producer is closed afterwards.
   */
  inTransaction<T>(options: TransactionOptions, work: (tx: ProducerTransaction) => Promise<T>): Promise<T>;
  /** The run ledger on `topic`, read through a warm reader (fails closed). */
  ledger(topic: string): Promise<RunLedger>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}

function backendFor(deps: ProducerDeps, shared: SharedClient): ProducerBackend {
  return deps.config.client === 'librdkafka' ? librdkafkaBackend(deps) : kafkajsBackend(deps, shared);
}

export function createKafkaProducer(deps: ProducerDeps): EventProducer {
  const { config } = deps;
  const shared = createSharedClient(deps);
  const backend = backendFor(deps, shared);
  const partitionCache = new Map<string, number>();
  const running = new Set<Promise<unknown>>();

  return {
    client: backend.name,
    ready: () => backend.ready(),

    async partitionCounts(topics) {
      const missing = topics.filter((t) => !partitionCache.has(t));
      if (missing.length > 0) {
        const counts = await shared.partitionCounts(missing);
        for (const topic of missing) {
          const count = counts.get(topic);
          if (count === undefined) {
            throw new TopicNotFoundError(
              `topic ${topic} does not exist (auto-creation is off); create it with "npm run topics -- ensure"`,
            );
          }
          partitionCache.set(topic, count);
        }
      }
      return new Map(topics.map((t) => [t, partitionCache.get(t)!]));
    },

    inTransaction<T>(options: TransactionOptions, work: (tx: ProducerTransaction) => Promise<T>): Promise<T> {
      const run = (async () => {
        // Opening fences every earlier producer with this id: a cancelled attempt must not.
        options.throwIfCancelled?.();
        // The secret may have been rotated since it was read: re-read it once if Kafka refuses it.
        const tx = await withRotation(
          () => backend.open(options),
          () => shared.rotate(),
        );
        return tx.run(work);
      })();
      running.add(run);
      void run.then(
        () => running.delete(run),
        () => running.delete(run),
      );
      return run;
    },

    ledger: (topic) => shared.runLedger(topic),

    async close() {
      await withTimeout(
        Promise.allSettled([...running]),
        config.sendTimeoutMs * 3,
        'waiting for running transactions to end',
      ).catch(() => undefined);
      await backend.close?.();
      await shared.close();
    },
  };
}
