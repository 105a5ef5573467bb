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

export interface ReadRecord {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
}

/**
 * Reads a topic from the beginning with read_committed isolation until it has been idle for
 * `idleMs` (or `timeoutMs` passed), with a throwaway consumer group.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: { idleMs?: number; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const groupId = `order-events-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 10_000, maxWaitTimeInMs: 250 });
  const records: ReadRecord[] = [];
  const idleMs = opts.idleMs ?? 1500;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let last = Date.now();
    let fetches = 0;
    // Idle is measured from the first fetch after joining, and needs a second fetch to be sure.
    consumer.on(consumer.events.FETCH, () => {
      if (fetches++ === 0) last = Date.now();
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        last = Date.now();
        records.push({
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          key: message.key?.toString() ?? null,
          value: message.value,
        });
      },
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    while (Date.now() < deadline && !(fetches >= 2 && Date.now() - last >= idleMs)) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
  return records;
}
