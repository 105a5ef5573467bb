// Topic administration: topics created, or their settings brought to a spec (`topics ensure`).
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { withTimeout } from '../timeout.ts';
import { TransientError } from '../errors.ts';
import { producerErrorFromKafkajs } from './errors.ts';

// kafkajs is CommonJS and this export is not visible to ESM named imports.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
  /** The run ledger keeps the partition count it was created with (a key's partition depends on it). */
  keepsPartitions?: boolean;
}

interface EnsuredTopic extends TopicSpec {
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
    throw producerErrorFromKafkajs(err, 'administering topics');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Creates each topic that is missing; idempotent. Reports topics that exist with other settings.
 * Being idempotent, it is simply run again after a retryable failure: a broker that does not know
 * a topic created a moment ago yet (kafkajs's wait for leaders gives up on it), a moved leader.
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], timeoutMs: number): Promise<EnsuredTopic[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicsOnce(kafka, specs, timeoutMs);
    } catch (err) {
      if (!(err instanceof TransientError) || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

async function ensureTopicsOnce(kafka: Kafka, specs: TopicSpec[], timeoutMs: number): Promise<EnsuredTopic[]> {
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

/**
 * Sets the spec's own settings on topics where they differ (the topics we own, like the run
 * ledger), and only those: Kafka's AlterConfigs (all kafkajs offers) replaces a topic's whole
 * configuration, so the topic's current overrides are read and written back with ours merged in.
 * An operator's min.insync.replicas, segment.ms or any other override stays as it was.
 */
async function alignTopicConfigs(admin: Admin, results: EnsuredTopic[]): Promise<void> {
  const stale = results.filter((r) => r.configUpdated && r.configEntries);
  if (stale.length === 0) return;
  const overrides = await topicOverrides(
    admin,
    stale.map((r) => r.topic),
  );
  await admin.alterConfigs({
    validateOnly: false,
    resources: stale.map((r) => {
      const merged = new Map(overrides.get(r.topic));
      for (const c of r.configEntries!) merged.set(c.name, c.value);
      const configEntries = [...merged].map(([name, value]) => ({ name, value }));
      return { type: ConfigResourceTypes.TOPIC, name: r.topic, configEntries };
    }),
  });
}

/** Each topic's own overrides (name → value). */
async function topicOverrides(admin: Admin, topics: string[]): Promise<Map<string, Map<string, string>>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  return new Map(
    resources.map((r) => {
      const own = r.configEntries.filter(
        (c) => c.configSource === ConfigSource.TOPIC_CONFIG /* set on the topic itself */,
      );
      const hidden = own.filter((c) => c.isSensitive || c.configValue === null);
      if (hidden.length > 0) {
        // Its value cannot be read back, so a full replace would drop it: refuse instead.
        throw new Error(
          `topic ${r.resourceName} has settings whose values Kafka does not return (${hidden.map((c) => c.configName).join(', ')}); ` +
            'set the run ledger settings by hand (docs/commands.md)',
        );
      }
      return [r.resourceName, new Map(own.map((c) => [c.configName, c.configValue]))];
    }),
  );
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
