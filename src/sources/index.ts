// The event source a deployment chose (EVENT_SOURCE), built once per process.
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { ProducerMetrics } from '../telemetry/metrics.ts';
import { readPostgresCredentials, type PostgresCredentials, type ReadSecretString } from '../secrets.ts';
import type { EventSource } from './contract.ts';
import { generatorSource } from './generator.ts';
import { createOutboxConnection, type OutboxConnection } from './outbox/connection.ts';
import { createOutboxFollower, type OutboxFollower } from './outbox/follow.ts';
import { createOutboxSource } from './outbox/source.ts';
import { outboxTable } from './outbox/table.ts';

export type { CursorSource, EventSource, RunSource } from './contract.ts';

export function createEventSource(
  config: Config,
  read: ReadSecretString,
  logger: Logger,
  options: { metrics?: Pick<ProducerMetrics, 'sourceRetainedWal'>; adoptSlot?: boolean } = {},
): EventSource {
  if (config.source.kind === 'generator') return generatorSource;
  const { outbox } = config.source;
  return createOutboxSource({
    connection: outboxConnection(config, read, logger),
    table: outboxTable(outbox.table),
    name: outbox.name,
    topic: config.kafka.topic,
    pageRows: outbox.pageRows,
    slot: outbox.slot,
    logger,
    ...options,
  });
}

/** A following relay's follower of the outbox (EVENT_SOURCE=outbox), with a connection pool of its own. */
export function createFollower(
  config: Config,
  read: ReadSecretString,
  logger: Logger,
  options: { metrics?: Pick<ProducerMetrics, 'sourceRetainedWal'>; workflowId: string },
): OutboxFollower {
  const { outbox } = config.source;
  return createOutboxFollower({
    connection: outboxConnection(config, read, logger),
    table: outboxTable(outbox.table),
    name: outbox.name,
    topic: config.kafka.topic,
    pageRows: outbox.pageRows,
    slot: outbox.slot,
    logger,
    workflowId: options.workflowId,
    commitEveryMs: outbox.follow.commitEveryMs,
    highWater: Math.max(1000, 2 * outbox.follow.commitEveryRows),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}

/** The outbox's connection pool over the PostgreSQL secret (read once, again after a refused login). */
export function outboxConnection(config: Config, read: ReadSecretString, logger: Logger): OutboxConnection {
  const { secretName, queryTimeoutMs } = config.source.outbox;
  let credentials: Promise<PostgresCredentials> | undefined;
  return createOutboxConnection({
    credentials: () => {
      credentials ??= readPostgresCredentials(read, secretName);
      credentials.catch(() => (credentials = undefined));
      return credentials;
    },
    invalidateCredentials: () => (credentials = undefined),
    secretName,
    timeoutMs: queryTimeoutMs,
    logger,
  });
}
