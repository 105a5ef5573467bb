// The process's long-lived kafkajs client: an admin connection for topic metadata and settings,
// and one warm run ledger per ledger topic. Rebuilt after a failure, and once
// with a re-read secret when Kafka refuses the cached credentials (rotation).
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { AuthenticationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkaFor } from './client.ts';
import { producerErrorFromKafkajs } from './errors.ts';
import { createRunLedger, type RunLedger } from '../run-ledger/index.ts';

interface Shared {
  kafka: Kafka;
  admin: Admin;
  ledgers: Map<string, RunLedger>;
}

/** How long a topic's retention read from the broker is trusted before it is read again. */
const RETENTION_TTL_MS = 60_000;

export interface SharedClient {
  get(): Promise<{ kafka: Kafka }>;
  /** Drops the cached secret and the client built from it. */
  rotate(): Promise<void>;
  /** Partition counts of the topics that exist (a missing topic is absent from the map). */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** The warm run ledger on `topic` (one per topic and process). */
  runLedger(topic: string): Promise<RunLedger>;
  /** How long `topic` keeps records (retention.ms; Infinity when its cleanup policy never deletes by age). */
  retentionMs(topic: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Runs `work`; when Kafka refuses the credentials, lets `rotate` drop the cached secret (it may
 * have been rotated) and runs `work` once more. A second refusal is final.
 */
export async function withRotation<T>(work: () => Promise<T>, rotate: () => unknown): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    await rotate();
    try {
      return await work();
    } catch (retryErr) {
      if (retryErr instanceof AuthenticationError) {
        throw new AuthenticationError(`${retryErr.message} (also after re-reading the secret)`);
      }
      throw retryErr;
    }
  }
}

// kafkajs is CommonJS and this export is not visible to ESM named imports.
const { ConfigResourceTypes } = kafkajs;

interface SharedClientDeps {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}

export function createSharedClient(deps: SharedClientDeps): SharedClient {
  const { config, logger } = deps;
  const connection = sharedConnection(deps);
  const retentionMs = retentionReader(config, connection);
  return {
    get: connection.get,
    async rotate() {
      connection.rereadSecret();
      await connection.reset();
    },

    async partitionCounts(topics) {
      const { admin } = await connection.get();
      try {
        return await readPartitionCounts(admin, config, topics);
      } catch (err) {
        await connection.reset();
        throw producerErrorFromKafkajs(err, 'reading topic metadata');
      }
    },

    async runLedger(topic) {
      const s = await connection.get();
      let ledger = s.ledgers.get(topic);
      if (!ledger) {
        ledger = createRunLedger({
          kafka: s.kafka,
          topic,
          timeoutMs: config.ledgerTimeoutMs,
          logger,
          retentionMs: () => retentionMs(topic),
        });
        s.ledgers.set(topic, ledger);
      }
      return ledger;
    },

    retentionMs,

    close: connection.reset,
  };
}

/** The process's one connection: made on first use, shared, and dropped once it fails. */
interface Connection {
  /** The connection, made now if there is none (re-reading the secret once if Kafka refuses it). */
  get: () => Promise<Shared>;
  /** Closes the connection (its run ledgers, its admin client); the next `get` makes a new one. */
  reset: () => Promise<void>;
  /** Drops the cached secret, so the next connection reads it anew. */
  rereadSecret: () => void;
}

function sharedConnection(deps: SharedClientDeps): Connection {
  const { credentials, logger } = deps;
  let connecting: Promise<Shared> | undefined;

  const rereadSecret = () => {
    logger.warn('kafka refused the cached credentials; re-reading the secret once');
    credentials.invalidate('kafka');
  };

  function get(): Promise<Shared> {
    connecting ??= withRotation(() => connectOnce(deps), rereadSecret);
    connecting.catch(() => (connecting = undefined));
    return connecting;
  }

  async function reset(): Promise<void> {
    const current = connecting;
    connecting = undefined;
    const s = await current?.catch(() => undefined);
    if (!s) return;
    await Promise.allSettled([...s.ledgers.values()].map((l) => l.close()));
    await s.admin.disconnect().catch(() => undefined);
  }

  return { get, reset, rereadSecret };
}

/** Connects an admin client with the cached secret (one try; the caller re-reads a refused secret). */
async function connectOnce({ config, credentials, logger }: SharedClientDeps): Promise<Shared> {
  const creds = await credentials.kafka();
  const kafka = kafkaFor(config, creds, logger);
  const admin = kafka.admin({ retry: { retries: 2 } });
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
  return { kafka, admin, ledgers: new Map() };
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

/** Reads topics' retention from the broker, each trusted for RETENTION_TTL_MS. */
function retentionReader(config: Config['kafka'], connection: Connection): (topic: string) => Promise<number> {
  const retentions = new Map<string, { ms: number; at: number }>();
  return async function retentionMs(topic: string): Promise<number> {
    const cached = retentions.get(topic);
    if (cached && performance.now() - cached.at < RETENTION_TTL_MS) return cached.ms;
    const { admin } = await connection.get();
    let settings: Map<string, string | undefined>;
    try {
      settings = await readRetentionSettings(admin, config, topic);
    } catch (err) {
      await connection.reset();
      throw producerErrorFromKafkajs(err, `reading the settings of ${topic}`);
    }
    const declared = Number(settings.get('retention.ms') ?? NaN);
    const deletes = (settings.get('cleanup.policy') ?? 'delete').includes('delete');
    const ms = !deletes || !Number.isFinite(declared) || declared < 0 ? Infinity : declared;
    retentions.set(topic, { ms, at: performance.now() });
    return ms;
  };
}

/** `topic`'s retention.ms and cleanup.policy, as the broker reports them. */
async function readRetentionSettings(
  admin: Admin,
  config: Config['kafka'],
  topic: string,
): Promise<Map<string, string | undefined>> {
  const { resources } = await withTimeout(
    admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
    }),
    config.requestTimeoutMs,
    `reading the settings of ${topic}`,
  );
  return new Map(resources[0]?.configEntries.map((c) => [c.configName, c.configValue]) ?? []);
}
