// The event source a deployment chose (EVENT_SOURCE), built once per process: the one place that
// turns the config into a source, a follower or an outbox connection.
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { ProducerMetrics } from '../telemetry/metrics.ts';
import type { CredentialSource } from '../secrets.ts';
import type { EventSource } from './contract.ts';
import { generatorSource } from './generator.ts';
import { createOutboxConnection, type OutboxConnection } from './outbox/connection.ts';
import { createOutboxFollower, type OutboxFollower } from './outbox/follow.ts';
import { createOutboxSource, type OutboxSourceDeps } from './outbox/source.ts';
import { outboxTable } from './outbox/table.ts';

export type { CursorSource, EventSource, RunSource } from './contract.ts';

export interface SourceDeps {
  config: Config;
  credentials: CredentialSource;
  logger: Logger;
  metrics?: Pick<ProducerMetrics, 'sourceRetainedWal'>;
}

export function createEventSource(deps: SourceDeps, options: { adoptSlot?: boolean } = {}): EventSource {
  if (deps.config.source.kind === 'generator') return generatorSource;
  return createOutboxSource({ ...outboxDeps(deps), ...(options.adoptSlot ? { adoptSlot: true } : {}) });
}

/** A following relay's follower of the outbox (EVENT_SOURCE=outbox), with a connection pool of its own. */
export function createFollower(deps: SourceDeps, workflowId: string): OutboxFollower {
  const { follow } = deps.config.source.outbox;
  return createOutboxFollower({
    ...outboxDeps(deps),
    workflowId,
    commitEveryMs: follow.commitEveryMs,
    highWater: Math.max(1000, 2 * follow.commitEveryRows),
  });
}

/** What every reader of the outbox is built from: a connection of its own, the table and its settings. */
function outboxDeps(deps: SourceDeps): OutboxSourceDeps {
  const { config, logger } = deps;
  const { outbox } = config.source;
  return {
    connection: outboxConnection(deps),
    table: outboxTable(outbox.table),
    name: outbox.name,
    topic: config.kafka.topic,
    pageRows: outbox.pageRows,
    slot: outbox.slot,
    logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  };
}

/** The outbox's connection pool over the PostgreSQL secret (cached, and read again after a refused login). */
export function outboxConnection(deps: Omit<SourceDeps, 'metrics'>): OutboxConnection {
  const { secretName, queryTimeoutMs } = deps.config.source.outbox;
  return createOutboxConnection({
    credentials: () => deps.credentials.postgres(),
    invalidateCredentials: () => deps.credentials.invalidate('postgres'),
    secretName,
    timeoutMs: queryTimeoutMs,
    logger: deps.logger,
  });
}
