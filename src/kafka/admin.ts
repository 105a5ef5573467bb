// Topic administration and reading topics back (for the topics, dlq and verify commands).
import { Kafka, type Admin } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { KafkaCredentials } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkaClientConfig, toProducerError } from './producer.ts';
import { registerSnappyCodec } from './snappy-codec.ts';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

export interface EnsuredTopic extends TopicSpec {
  created: boolean;
  /** Set when the topic existed with another partition count than asked for. */
  actualPartitions?: number;
}

export function kafkaFor(config: Config['kafka'], creds: KafkaCredentials, logger: Logger): Kafka {
  registerSnappyCodec();
  return new Kafka(kafkaClientConfig(config, creds, logger));
}

async function withAdmin<T>(kafka: Kafka, timeoutMs: number, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), timeoutMs, 'connecting the Kafka admin client');
    return await work(admin);
  } catch (err) {
    throw toProducerError(err, 'administering topics');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Creates each topic that is missing; idempotent. Reports topics that exist with other settings. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], timeoutMs: number): Promise<EnsuredTopic[]> {
  return withAdmin(kafka, timeoutMs, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: timeoutMs,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor,
        })),
      });
    }
    const present = specs.filter((s) => existing.has(s.topic)).map((s) => s.topic);
    const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    return specs.map((s) => {
      const found = meta.topics.find((t) => t.name === s.topic);
      if (!found) return { ...s, created: true };
      return found.partitions.length === s.partitions
        ? { ...s, created: false }
        : { ...s, created: false, actualPartitions: found.partitions.length };
    });
  });
}

/** The topics the producer needs: events, dead letters, and the run ledger (kept 7 days). */
export function producerTopics(k: Config['kafka']): TopicSpec[] {
  return [
    { topic: k.topic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    { topic: k.dlqTopic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    {
      topic: k.runsTopic,
      partitions: 1,
      replicationFactor: k.topicReplicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }],
    },
  ];
}
