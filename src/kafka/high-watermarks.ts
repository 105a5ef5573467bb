// Each partition's high watermark (the end of the log, open transactions included) and log start.
// A read that must not miss a committed record reads up to the high watermark; kafkajs's admin
// only lists offsets read_committed, which stops at the first open transaction (the last stable
// offset) and would hide committed records behind it. kafkajs offers read_uncommitted offsets
// only on its internal cluster object, so this module, and nothing else, reaches for it.
import type { Kafka } from 'kafkajs';

const READ_UNCOMMITTED = 0;

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export interface HighWatermarks {
  /**
   * Per partition with records left to read: its high watermark (partitions whose log is empty are
   * left out). Only `partitions` when given, else every partition of the topic.
   */
  ends(topic: string, partitions?: number[]): Promise<Map<number, number>>;
  /** The topic's partition count, from metadata refreshed when it is older than the client's max age. */
  partitionCount(topic: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Answers that mean "ask again with fresh metadata": a partition's leader moved (an election, a
 * broker restarted or shut down), or a broker this client knew is gone. kafkajs neither refreshes
 * nor retries its offset lookup on these, so a warm process would keep asking the old leader until
 * its metadata ages out (5 minutes).
 */
const MOVED = new Set([
  'NOT_LEADER_FOR_PARTITION', // NOT_LEADER_OR_FOLLOWER
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
]);
const movedOrGone = (err: unknown): boolean => {
  const e = err as { type?: string; name?: string } | null;
  return (
    MOVED.has(e?.type ?? '') ||
    e?.name === 'KafkaJSConnectionError' ||
    e?.name === 'KafkaJSBrokerNotFound' ||
    e?.name === 'KafkaJSConnectionClosedError'
  );
};
/** Offset lookups asked again after a metadata refresh, before the caller sees the failure. */
const LOOKUP_TRIES = 4;

export function createHighWatermarks(kafka: Kafka): HighWatermarks {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!create) throw new Error('this kafkajs version has no internal cluster factory; pin kafkajs 2.2.x');
  const factory = (kafka as unknown as Record<symbol, (o: object) => InternalCluster>)[create]!;
  const cluster = factory({ isolationLevel: READ_UNCOMMITTED, allowAutoTopicCreation: false });
  let connected: Promise<void> | undefined;

  async function metadataOf(topic: string) {
    connected ??= cluster.connect();
    connected.catch(() => (connected = undefined));
    await connected;
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadataIfNecessary();
    return cluster.findTopicPartitionMetadata(topic);
  }

  return {
    async partitionCount(topic) {
      return (await metadataOf(topic)).length;
    },
    async ends(topic, only) {
      for (let tried = 1; ; tried++) {
        try {
          return await endsOnce(topic, only);
        } catch (err) {
          if (tried >= LOOKUP_TRIES || !movedOrGone(err)) throw err;
          await new Promise((r) => setTimeout(r, 50 * 2 ** tried));
          await cluster.refreshMetadata();
        }
      }
    },
    async close() {
      connected = undefined;
      await cluster.disconnect().catch(() => undefined);
    },
  };

  async function endsOnce(topic: string, only: number[] | undefined): Promise<Map<number, number>> {
    const partitions = (await metadataOf(topic))
      .filter((p) => !only || only.includes(p.partitionId))
      .map((p) => ({ partition: p.partitionId }));
    const [high] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    const [low] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: true, partitions }]);
    const start = new Map(low!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return new Map(
      high!.partitions
        .map((p) => [p.partition, Number(p.offset)] as const)
        .filter(([p, end]) => (start.get(p) ?? 0) < end),
    );
  }
}
