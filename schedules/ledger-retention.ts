// How far back a backfill may reach: the run ledger topic's retention, read from Kafka over the
// smallest client that can (the app's cluster client and credentials, nothing else of it).
import type { Config } from '../src/config/index.ts';
import { errorMessage } from '../src/errors.ts';
import { createApp } from '../src/app.ts';
import { createLogger } from '../src/logger.ts';
import { withTimeout } from '../src/timeout.ts';

/**
 * How long the run ledger keeps records: its topic's real retention.ms when Kafka answers, else
 * KAFKA_RUNS_RETENTION_MS (the worker refuses a run beyond the real retention either way).
 */
export async function ledgerRetention(config: Config): Promise<{ ms: number; source: string }> {
  try {
    const ms = await topicRetentionMs(config, config.kafka.runsTopic);
    return { ms, source: `${config.kafka.runsTopic} retention.ms` };
  } catch (err) {
    console.error(
      `schedule: could not read the run ledger's retention (${errorMessage(err)}); using KAFKA_RUNS_RETENTION_MS`,
    );
    return { ms: config.kafka.runsRetentionMs, source: 'KAFKA_RUNS_RETENTION_MS' };
  }
}

/** `topic`'s retention.ms as the broker reports it (Infinity when it never deletes by age): the app builds only the cluster client and its credentials. */
async function topicRetentionMs(config: Config, topic: string): Promise<number> {
  const app = createApp(config, { logger: createLogger('error') });
  try {
    await app.cluster.get(); // connecting is bounded by its own timeouts; the read by the request timeout
    return await withTimeout(
      app.cluster.retentionMs(topic),
      config.kafka.requestTimeoutMs,
      'reading the ledger retention',
    );
  } finally {
    await app.close();
  }
}
