// What the process asks the cluster, over one long-lived kafkajs client: topics and their partition
// counts, topics' settings, and the client itself for readers that stay warm (the run ledger's).
// Rebuilt after a failure, and once with a re-read secret when Kafka refuses the cached
// credentials (rotation); whoever holds something built on the client hears of each rebuild.
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { withReread, type CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkaFor } from './kafkajs-client.ts';
import { producerErrorFromKafkajs } from './errors.ts';

interface Connected {
  kafka: Kafka;
  admin: Admin;
}

/** How long a topic's settings read from the broker are trusted before they are read again. */
const SETTINGS_TTL_MS = 60_000;

export interface ClusterClient {
  /** The kafkajs client, connected now if it is not (the secret re-read once if Kafka refuses it). */
  get(): Promise<{ kafka: Kafka }>;
  /** Drops the cached secret and the client built from it. */
  rotate(): Promise<void>;
  /** Runs `listener` each time the client is closed (a failure, a rotation, `close`): what was built on it must go. */
  onClose(listener: () => Promise<void>): void;
  /** Partition counts of the topics that exist (a missing topic is absent from the map). */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** How long `topic` keeps records (retention.ms; Infinity when its cleanup policy never deletes by age). */
  retentionMs(topic: string): Promise<number>;
  /** The size and timestamp limits the broker checks `topic`'s records against. */
  topicLimits(topic: string): Promise<TopicLimits>;
  close(): Promise<void>;
}

// kafkajs is CommonJS and this export is not visible to ESM named imports.
const { ConfigResourceTypes } = kafkajs;

interface ClusterClientDeps {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}

export function createClusterClient(deps: ClusterClientDeps): ClusterClient {
  const { config } = deps;
  const connection = sharedConnection(deps);
  const settingsOf = topicSettingsReader(config, connection);
  const retentionMs = async (topic: string) => retentionOf(await settingsOf(topic));
  return {
    get: connection.get,
    async rotate() {
      connection.rereadSecret();
      await connection.reset();
    },
    onClose: (listener) => void connection.listeners.add(listener),

    async partitionCounts(topics) {
      const { admin } = await connection.get();
      try {
        return await readPartitionCounts(admin, config, topics);
      } catch (err) {
        await connection.reset();
        throw producerErrorFromKafkajs(err, 'reading topic metadata');
      }
    },

    retentionMs,
    topicLimits: async (topic) => limitsOf(await settingsOf(topic)),

    close: connection.reset,
  };
}

/** The process's one connection: made on first use, shared, and dropped once it fails. */
interface Connection {
  /** The connection, made now if there is none (re-reading the secret once if Kafka refuses it). */
  get: () => Promise<Connected>;
  /** Closes the connection (what listeners built on it, its admin client); the next `get` makes a new one. */
  reset: () => Promise<void>;
  /** Drops the cached secret, so the next connection reads it anew. */
  rereadSecret: () => void;
  listeners: Set<() => Promise<void>>;
}

function sharedConnection(deps: ClusterClientDeps): Connection {
  const { credentials } = deps;
  let connecting: Promise<Connected> | undefined;
  const listeners = new Set<() => Promise<void>>();
  const rereadSecret = () => credentials.invalidate('kafka');

  function get(): Promise<Connected> {
    connecting ??= withReread(() => connectOnce(deps), rereadSecret);
    connecting.catch(() => (connecting = undefined));
    return connecting;
  }

  async function reset(): Promise<void> {
    const current = connecting;
    connecting = undefined;
    const s = await current?.catch(() => undefined);
    if (!s) return;
    await Promise.allSettled([...listeners].map((l) => l()));
    await s.admin.disconnect().catch(() => undefined);
  }

  return { get, reset, rereadSecret, listeners };
}

/** Connects an admin client with the cached secret (one try; the caller re-reads a refused secret). */
async function connectOnce({ config, credentials, logger }: ClusterClientDeps): Promise<Connected> {
  const creds = await credentials.kafka();
  const kafka = kafkaFor(config, creds, logger);
  // The client's retries (KAFKA_RETRIES), bounded by each read's timeout: a broker that restarts
  // under a read is waited for, as the Java AdminClient does until its API timeout.
  const admin = kafka.admin();
  try {
    await withTimeout(
      admin.connect(),
      config.connectionTimeoutMs + config.requestTimeoutMs,
      'connecting the Kafka admin client',
    );
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw producerErrorFromKafkajs(err, 'connecting to Kafka');
  }
  logger.info('kafka client connected', { brokers: creds.bootstrapServers });
  return { kafka, admin };
}

/** Partition counts of the topics in `topics` that exist. */
async function readPartitionCounts(
  admin: Admin,
  config: Config['kafka'],
  topics: string[],
): Promise<Map<string, number>> {
  const existing = new Set(await withTimeout(admin.listTopics(), config.requestTimeoutMs, 'listing Kafka topics'));
  const present = topics.filter((t) => existing.has(t));
  if (present.length === 0) return new Map();
  const meta = await withTimeout(
    admin.fetchTopicMetadata({ topics: present }),
    config.requestTimeoutMs,
    'reading topic metadata',
  );
  return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
}

/** What the broker checks each record of a topic against (its topic-level settings, as the broker reports them). */
export interface TopicLimits {
  /** max.message.bytes: the largest record batch the topic takes. */
  maxMessageBytes: number;
  /** message.timestamp.type: with LogAppendTime the broker stamps records and checks no timestamp. */
  logAppendTime: boolean;
  /** message.timestamp.before.max.ms / after.max.ms: how far behind or ahead of the broker's clock a timestamp may be. */
  beforeMaxMs: number;
  afterMaxMs: number;
}

const SETTINGS = [
  'retention.ms',
  'cleanup.policy',
  'max.message.bytes',
  'message.timestamp.type',
  'message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms',
];

/** Reads topics' settings from the broker, each trusted for SETTINGS_TTL_MS. */
function topicSettingsReader(
  config: Config['kafka'],
  connection: Connection,
): (topic: string) => Promise<Map<string, string | undefined>> {
  const cache = new Map<string, { settings: Map<string, string | undefined>; at: number }>();
  return async function settingsOf(topic: string) {
    const cached = cache.get(topic);
    if (cached && performance.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
    const { admin } = await connection.get();
    let settings: Map<string, string | undefined>;
    try {
      settings = await readTopicSettings(admin, config, topic);
    } catch (err) {
      await connection.reset();
      throw producerErrorFromKafkajs(err, `reading the settings of ${topic}`);
    }
    cache.set(topic, { settings, at: performance.now() });
    return settings;
  };
}

/** retention.ms, or Infinity when the topic never deletes by age. */
function retentionOf(settings: Map<string, string | undefined>): number {
  const declared = Number(settings.get('retention.ms') ?? NaN);
  const deletes = (settings.get('cleanup.policy') ?? 'delete').includes('delete');
  return !deletes || !Number.isFinite(declared) || declared < 0 ? Infinity : declared;
}

function limitsOf(settings: Map<string, string | undefined>): TopicLimits {
  const number = (name: string, fallback: number) => {
    const v = Number(settings.get(name) ?? NaN);
    return Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    maxMessageBytes: number('max.message.bytes', 1_048_588),
    logAppendTime: settings.get('message.timestamp.type') === 'LogAppendTime',
    beforeMaxMs: number('message.timestamp.before.max.ms', Number.MAX_SAFE_INTEGER),
    afterMaxMs: number('message.timestamp.after.max.ms', Number.MAX_SAFE_INTEGER),
  };
}

/** `topic`'s settings that matter here, as the broker reports them. */
async function readTopicSettings(
  admin: Admin,
  config: Config['kafka'],
  topic: string,
): Promise<Map<string, string | undefined>> {
  const { resources } = await withTimeout(
    admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: SETTINGS }],
    }),
    config.requestTimeoutMs,
    `reading the settings of ${topic}`,
  );
  return new Map(resources[0]?.configEntries.map((c) => [c.configName, c.configValue]) ?? []);
}
