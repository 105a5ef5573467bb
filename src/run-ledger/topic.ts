// The ledger topic's settings and the partition a key lives on. `topics ensure` creates the ledger
// with these and, on an existing ledger, sets only these keys (an operator's other settings, such
// as min.insync.replicas or segment.ms, stay as they are).
import type { Config } from '../config/index.ts';
import { partitionForKey } from '../kafka/partitioner.ts';
import type { TopicSpec } from '../kafka/topics.ts';

/** Compacted by key (one record per run survives, so its size is bounded) and kept `retentionMs`. */
export function ledgerTopicConfig(retentionMs: number): { name: string; value: string }[] {
  return [
    { name: 'cleanup.policy', value: 'compact,delete' },
    { name: 'retention.ms', value: String(retentionMs) },
  ];
}

/**
 * The partition a ledger key lives on: the Java client's murmur2 of the key. It depends on the
 * partition count, so a ledger's count must not change once it holds records (reader checks it).
 */
export function ledgerPartitionOf(key: string, partitionCount: number): number {
  return partitionForKey(key, partitionCount);
}

/** The topics the producer needs: events, dead letters, and the run ledger. */
export function producerTopics(k: Config['kafka']): TopicSpec[] {
  return [
    { topic: k.topic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    { topic: k.dlqTopic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    {
      topic: k.runsTopic,
      partitions: k.runsPartitions,
      replicationFactor: k.topicReplicationFactor,
      configEntries: ledgerTopicConfig(k.runsRetentionMs),
      keepsPartitions: true,
    },
  ];
}
