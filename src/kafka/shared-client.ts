// The process's long-lived kafkajs client: an admin connection for topic metadata and ledger end
// offsets, and one warm run-ledger index per ledger topic. Rebuilt after a failure, and once
// with a re-read secret when Kafka refuses the cached credentials (rotation).
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config.ts';
import { AuthenticationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CredentialSource } from '../secrets.ts';
import { withTimeout } from '../timeout.ts';
import { kafkaFor } from './client.ts';
import { toProducerError } from './errors.ts';
import { createLedgerIndex, type LedgerIndex } from './ledger-index.ts';

interface Shared {
  kafka: Kafka;
  admin: Admin;
  ledgers: Map<string, LedgerIndex>;
}

export interface SharedClient {
  get(): Promise<{ kafka: Kafka }>;
  /** Drops the cached secret and the client built from it. */
  rotate(): Promise<void>;
  /** Partition counts of the topics that exist (a missing topic is absent from the map). */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  ledgerIndex(topic: string): Promise<LedgerIndex>;
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

export function createSharedClient(deps: {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}): SharedClient {
  const { config, credentials, logger } = deps;
  let connecting: Promise<Shared> | undefined;

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

    async ledgerIndex(topic) {
      const s = await get();
      let index = s.ledgers.get(topic);
      if (!index) {
        index = createLedgerIndex({ kafka: s.kafka, topic, timeoutMs: config.ledgerTimeoutMs, logger });
        s.ledgers.set(topic, index);
      }
      return index;
    },

    close: reset,
  };
}
