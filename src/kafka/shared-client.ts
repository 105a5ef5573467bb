// The process's long-lived kafkajs client: an admin connection for topic metadata and settings,
// and one warm run ledger per ledger topic. Rebuilt after a failure, and once
// with a re-read secret when Kafka refuses the cached credentials (rotation).
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config.ts';
import { AuthenticationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkaFor } from './client.ts';
import { toProducerError } from './errors.ts';
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

export function createSharedClient(deps: {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}): SharedClient {
  const { config, credentials, logger } = deps;
  let connecting: Promise<Shared> | undefined;
  const retentions = new Map<string, { ms: number; at: number }>();

  async function connectOnce(): Promise<Shared> {
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
      throw toProducerError(err, 'connecting to Kafka');
    }
    logger.info('kafka client connected', { brokers: creds.bootstrapServers });
    return { kafka, admin, ledgers: new Map() };
  }

  const rereadSecret = () => {
    logger.warn('kafka refused the cached credentials; re-reading the secret once');
    credentials.invalidate('kafka');
  };

  function get(): Promise<Shared> {
    connecting ??= withRotation(connectOnce, rereadSecret);
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

  async function retentionMs(topic: string): Promise<number> {
    const cached = retentions.get(topic);
    if (cached && Date.now() - cached.at < RETENTION_TTL_MS) return cached.ms;
    const { admin } = await get();
    let settings: Map<string, string | undefined>;
    try {
      const { resources } = await withTimeout(
        admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] },
          ],
        }),
        config.requestTimeoutMs,
        `reading the settings of ${topic}`,
      );
      settings = new Map(resources[0]?.configEntries.map((c) => [c.configName, c.configValue]) ?? []);
    } catch (err) {
      await reset();
      throw toProducerError(err, `reading the settings of ${topic}`);
    }
    const declared = Number(settings.get('retention.ms') ?? NaN);
    const deletes = (settings.get('cleanup.policy') ?? 'delete').includes('delete');
    const ms = !deletes || !Number.isFinite(declared) || declared < 0 ? Infinity : declared;
    retentions.set(topic, { ms, at: Date.now() });
    return ms;
  }

  return {
    get,
    async rotate() {
      rereadSecret();
      await reset();
    },

    async partitionCounts(topics) {
      const { admin } = await get();
      try {
        const existing = new Set(
          await withTimeout(admin.listTopics(), config.requestTimeoutMs, 'listing Kafka topics'),
        );
        const present = topics.filter((t) => existing.has(t));
        if (present.length === 0) return new Map();
        const meta = await withTimeout(
          admin.fetchTopicMetadata({ topics: present }),
          config.requestTimeoutMs,
          'reading topic metadata',
        );
        return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      } catch (err) {
        await reset();
        throw toProducerError(err, 'reading topic metadata');
      }
    },

    async runLedger(topic) {
      const s = await get();
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

    close: reset,
  };
}
