// Topic administration and reading topics back (for the topics, dlq and verify commands).
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config.ts';
import { withTimeout } from '../timeout.ts';
import { toProducerError } from './errors.ts';

// kafkajs is CommonJS and this export is not visible to ESM named imports.
const { ConfigResourceTypes } = kafkajs;

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
  /** Settings of an existing topic that differed from the spec (name, wanted, was) and were set. */
  configUpdated?: { name: string; wanted: string; was: string | undefined }[];
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
          ...(s.configEntries ? { configEntries: s.configEntries } : {}),
        })),
      });
    }
    const present = specs.filter((s) => existing.has(s.topic)).map((s) => s.topic);
    const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const configs = await topicConfigs(
      admin,
      specs.filter((s) => existing.has(s.topic) && s.configEntries),
    );
    const results = specs.map((s): EnsuredTopic => {
      const found = meta.topics.find((t) => t.name === s.topic);
      if (!found) return { ...s, created: true };
      const actual = configs.get(s.topic);
      const configUpdated = (s.configEntries ?? [])
        .filter((c) => actual?.get(c.name) !== c.value)
        .map((c) => ({ name: c.name, wanted: c.value, was: actual?.get(c.name) }));
      return {
        ...s,
        created: false,
        ...(found.partitions.length === s.partitions ? {} : { actualPartitions: found.partitions.length }),
        ...(configUpdated.length > 0 ? { configUpdated } : {}),
      };
    });
    await alignTopicConfigs(admin, results);
    return results;
  });
}

/** Sets the spec's settings on topics whose settings differ (the topics we own, like the run ledger). */
async function alignTopicConfigs(admin: Admin, results: EnsuredTopic[]): Promise<void> {
  const stale = results.filter((r) => r.configUpdated && r.configEntries);
  if (stale.length === 0) return;
  await admin.alterConfigs({
    validateOnly: false,
    resources: stale.map((r) => ({ type: ConfigResourceTypes.TOPIC, name: r.topic, configEntries: r.configEntries! })),
  });
}

async function topicConfigs(admin: Admin, specs: TopicSpec[]): Promise<Map<string, Map<string, string>>> {
  if (specs.length === 0) return new Map();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.topic,
      configNames: (s.configEntries ?? []).map((c) => c.name),
    })),
  });
  return new Map(
    resources.map((r) => [r.resourceName, new Map(r.configEntries.map((c) => [c.configName, c.configValue]))]),
  );
}

/** The run ledger's settings: compacted by slot (bounded size) and kept `retentionMs` (see docs/exactly-once.md). */
export function ledgerTopicConfig(retentionMs: number): { name: string; value: string }[] {
  return [
    { name: 'cleanup.policy', value: 'compact,delete' },
    { name: 'retention.ms', value: String(retentionMs) },
  ];
}

/** The topics the producer needs: events, dead letters, and the run ledger. */
export function producerTopics(k: Config['kafka']): TopicSpec[] {
  return [
    { topic: k.topic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    { topic: k.dlqTopic, partitions: k.topicPartitions, replicationFactor: k.topicReplicationFactor },
    {
      topic: k.runsTopic,
      partitions: 1,
      replicationFactor: k.topicReplicationFactor,
      configEntries: ledgerTopicConfig(k.runsRetentionMs),
    },
  ];
}
