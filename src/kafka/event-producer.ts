// Our producer interface, and the process's producer over one of two client backends:
// kafkajs (the default, src/kafka/kafkajs/) or librdkafka (KAFKA_CLIENT=librdkafka,
// src/kafka/librdkafka/), both behind the contract in backend.ts. A backend only opens, commits
// and aborts transactions (their order is transaction.ts); everything else is shared here:
// topic metadata and settings through the cluster client (cluster-client.ts), credential
// rotation, partitioning (partitioner.ts) and error classification (errors.ts).
//
// One transaction is one short-lived transactional producer whose transactional id the caller
// picks: a run's id is the same in every attempt and every process, so opening the transaction
// fences every earlier producer of the run before the caller decides anything (src/run-ledger/).
import type { Config } from '../config/index.ts';
import { TopicNotFoundError } from '../errors.ts';
import { withReread } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import type { ProducerBackend, ProducerDeps, ProducerTransaction, TransactionOptions } from './backend.ts';
import type { ClusterClient, TopicLimits } from './cluster-client.ts';
import { kafkajsBackend } from './kafkajs/backend.ts';
import { librdkafkaBackend } from './librdkafka/backend.ts';
import { runTransaction } from './transaction.ts';

export type { TopicLimits } from './cluster-client.ts';

export interface EventProducer {
  /** The client backend producing records (kafkajs or librdkafka). */
  readonly client: Config['kafka']['client'];
  /** Fails when the configured backend cannot run here (checked at worker start). */
  ready(): Promise<void>;
  /** Partition counts of `topics`; TopicNotFoundError names the first that does not exist. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** The size and timestamp limits the broker checks a topic's records against (read again each minute). */
  topicLimits(topic: string): Promise<TopicLimits>;
  /**
   * Starts a producer with `options.transactionalId` (fencing every earlier producer with that id,
   * in any process) and runs `work` inside one Kafka transaction: committed when it resolves,
   * aborted when it throws. The producer is closed afterwards.
   */
  inTransaction<T>(options: TransactionOptions, work: (tx: ProducerTransaction) => Promise<T>): Promise<T>;
  /** Waits for running transactions to end and closes the backend (not the cluster client: its owner does). */
  close(): Promise<void>;
}

function backendFor(deps: ProducerDeps, shared: ClusterClient): ProducerBackend {
  return deps.config.client === 'librdkafka' ? librdkafkaBackend(deps) : kafkajsBackend(deps, shared);
}

/** Partition counts, read once per topic and process; a missing topic is a TopicNotFoundError naming it. */
function cachedPartitionCounts(shared: ClusterClient): (topics: string[]) => Promise<Map<string, number>> {
  const cache = new Map<string, number>();
  return async (topics) => {
    const missing = topics.filter((t) => !cache.has(t));
    if (missing.length > 0) {
      const counts = await shared.partitionCounts(missing);
      for (const topic of missing) {
        const count = counts.get(topic);
        if (count === undefined) {
          throw new TopicNotFoundError(
            `topic ${topic} does not exist (auto-creation is off); create it with "npm run topics -- ensure"`,
          );
        }
        cache.set(topic, count);
      }
    }
    return new Map(topics.map((t) => [t, cache.get(t)!]));
  };
}

export function createEventProducer(deps: ProducerDeps & { cluster: ClusterClient }): EventProducer {
  const { config, cluster: shared } = deps;
  const backend = backendFor(deps, shared);
  const partitionCounts = cachedPartitionCounts(shared);
  const running = new Set<Promise<unknown>>();

  return {
    client: backend.name,
    ready: () => backend.ready(),

    partitionCounts: (topics) => partitionCounts(topics),

    topicLimits: (topic) => shared.topicLimits(topic),

    inTransaction<T>(options: TransactionOptions, work: (tx: ProducerTransaction) => Promise<T>): Promise<T> {
      const run = (async () => {
        // Opening fences every earlier producer with this id: a cancelled attempt must not.
        options.throwIfCancelled?.();
        // The secret may have been rotated since it was read: re-read it once if Kafka refuses it.
        const tx = await withReread(
          () => backend.open(options),
          () => shared.rotate(),
        );
        return runTransaction(tx, options, work, deps.logger);
      })();
      running.add(run);
      void run.then(
        () => running.delete(run),
        () => running.delete(run),
      );
      return run;
    },

    async close() {
      await withTimeout(
        Promise.allSettled([...running]),
        config.sendTimeoutMs * 3,
        'waiting for running transactions to end',
      ).catch(() => undefined);
      await backend.close?.();
    },
  };
}
