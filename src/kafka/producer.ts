// Our producer interface and its kafkajs implementation. kafkajs is unmaintained, so nothing
// outside this folder imports it: another client can replace it behind `EventProducer`.
//
// One long-lived client per process (admin, partition counts, the run-ledger index) and one
// short-lived transactional producer per transaction, whose transactional id the caller picks:
// a slot's id is the same in every attempt and every process, so starting the transaction fences
// every earlier producer of the slot before the caller decides anything (src/run-ledger.ts).
import type { Config } from '../config.ts';
import { TopicNotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RunLedger } from '../run-ledger.ts';
import type { CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { createSharedClient, withRotation } from './shared-client.ts';
import { openTransaction, type TransactionOptions } from './transaction.ts';

export type { TransactionOptions } from './transaction.ts';

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
}

export interface EventProducer {
  /** Partition counts of `topics`; TopicNotFoundError names the first that does not exist. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /**
   * Starts a producer with `options.transactionalId` (fencing every earlier producer with that id,
   * in any process) and runs `work` inside one Kafka transaction: committed when it resolves,
   * aborted when it throws. The producer is closed afterwards.
   */
  inTransaction<T>(options: TransactionOptions, work: (tx: ProducerTransaction) => Promise<T>): Promise<T>;
  /** The run ledger on `topic`, read through a warm index (fails closed). */
  ledger(topic: string): RunLedger;
  close(): Promise<void>;
}

export function createKafkaProducer(deps: {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}): EventProducer {
  const { config, logger } = deps;
  const shared = createSharedClient(deps);
  const partitionCache = new Map<string, number>();
  const running = new Set<Promise<unknown>>();

  // The secret may have been rotated since the shared client was built.
  const open = (options: TransactionOptions) =>
    withRotation(
      async () => openTransaction((await shared.get()).kafka, config, options, logger),
      () => shared.rotate(),
    );

  return {
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
        const tx = await open(options);
        return tx.run(work);
      })();
      running.add(run);
      void run.then(
        () => running.delete(run),
        () => running.delete(run),
      );
      return run;
    },

    ledger(topic) {
      return {
        lookup: async (key) => (await shared.ledgerIndex(topic)).lookup(key),
        warm: async () => (await shared.ledgerIndex(topic)).warm(),
      };
    },

    async close() {
      await withTimeout(
        Promise.allSettled([...running]),
        config.sendTimeoutMs * 3,
        'waiting for running transactions to end',
      ).catch(() => undefined);
      await shared.close();
    },
  };
}
