// The composition root for everything long-lived: one credential cache, one registry client, one
// cluster client, one producer, one set of run ledgers per process. Each part is built on first
// use, so a command builds only what it touches; the worker and the commands close the app once,
// which closes what was built.
import type { ActivityDeps } from './activities/index.ts';
import type { Config } from './config/index.ts';
import { createClusterClient, type ClusterClient } from './kafka/cluster-client.ts';
import { createEventProducer, type EventProducer } from './kafka/event-producer.ts';
import { createLogger, type Logger } from './logger.ts';
import { createRunLedgers, type RunLedgers } from './run-ledger/ledgers.ts';
import { noMetrics, type ProducerMetrics } from './telemetry/metrics.ts';
import { inSpan } from './telemetry/tracing.ts';
import { createEngine, type Engine } from './engine/index.ts';
import {
  DEAD_LETTER_SCHEMA_FILE,
  ORDER_EVENT_SCHEMA_FILE,
  loadSchema,
  type LoadedSchema,
} from './schema/order-event.ts';
import { createRegistryClient, type RegistryClient } from './schema/registry-client.ts';
import { createSchemaIds, type SchemaIds } from './schema/schema-ids.ts';
import { createEventSource, createFollower, type EventSource } from './sources/index.ts';
import type { OutboxFollower } from './sources/outbox/follow.ts';
import { awsSecretReader, createCredentialSource, type CredentialSource, type ReadSecretString } from './secrets.ts';

export interface App {
  config: Config;
  logger: Logger;
  metrics: ProducerMetrics;
  credentials: CredentialSource;
  registry: RegistryClient;
  schemaIds: SchemaIds;
  /** Topic metadata and settings, over the process's one long-lived kafkajs client. */
  cluster: ClusterClient;
  producer: EventProducer;
  /** The run ledgers, one warm reader per ledger topic, over the cluster client. */
  ledgers: RunLedgers;
  engine: Engine;
  /** Where the events come from (EVENT_SOURCE). */
  source: EventSource;
  /** The following relay's follower for a workflow id (EVENT_SOURCE=outbox only). */
  follower?: (workflowId: string) => OutboxFollower;
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  close(): Promise<void>;
}

export interface AppOverrides {
  logger?: Logger;
  readSecret?: ReadSecretString;
  metrics?: ProducerMetrics;
  adoptSlot?: boolean;
}

/** `build`, run on first use and remembered; `built()` tells whether it ran. */
function once<T>(build: () => T): Lazy<T> {
  let made: { value: T } | undefined;
  return Object.assign(() => (made ??= { value: build() }).value, { built: () => made !== undefined });
}

type Lazy<T> = { (): T; built(): boolean };

/** The app's parts, each built on first use (and the parts it needs with it). */
function lazyParts(config: Config, logger: Logger, metrics: ProducerMetrics, overrides: AppOverrides) {
  const credentials = once(() => appCredentials(config, { ...overrides, logger, metrics }));
  const registry = once(() => registryOf(config, credentials()));
  const cluster = once(() => createClusterClient({ config: config.kafka, credentials: credentials(), logger }));
  const producer = once(() =>
    createEventProducer({ config: config.kafka, credentials: credentials(), logger, cluster: cluster() }),
  );
  const ledgers = once(() => createRunLedgers({ cluster: cluster(), timeoutMs: config.kafka.ledgerTimeoutMs, logger }));
  const orderEventSchema = once(() => loadSchema(ORDER_EVENT_SCHEMA_FILE));
  const deadLetterSchema = once(() => loadSchema(DEAD_LETTER_SCHEMA_FILE));
  const schemaIds = once(() => tracedSchemaIds(config, registry()));
  const engine = once(() =>
    createEngine({
      config: { ...config.kafka, subject: config.registry.subject, dlqSubject: config.registry.dlqSubject },
      producer: producer(),
      ledgers: ledgers(),
      schemaIds: schemaIds(),
      orderEventSchema: orderEventSchema(),
      deadLetterSchema: deadLetterSchema(),
      logger,
      metrics,
    }),
  );
  const sourceDeps = () => ({ config, credentials: credentials(), logger, metrics });
  const source = once(() => createEventSource(sourceDeps(), overrides.adoptSlot ? { adoptSlot: true } : {}));
  const follower = (workflowId: string) => createFollower(sourceDeps(), workflowId);
  const parts = { credentials, registry, schemaIds, cluster, producer, ledgers, engine, source };
  return { ...parts, orderEventSchema, deadLetterSchema, follower };
}

export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const metrics = overrides.metrics ?? noMetrics;
  const { follower, ...parts } = lazyParts(config, logger, metrics, overrides);
  const { producer, ledgers, cluster, source } = parts;
  const app = {
    config,
    logger,
    metrics,
    ...(config.source.kind === 'outbox' ? { follower } : {}),
    close: async () => {
      if (producer.built()) await producer().close();
      if (ledgers.built()) await ledgers().close();
      if (cluster.built()) await cluster().close();
      const s = source.built() ? source() : undefined;
      if (s?.kind === 'cursor') await s.close();
    },
  };
  for (const [name, part] of Object.entries(parts) as [string, Lazy<unknown>][]) {
    Object.defineProperty(app, name, { get: part, enumerable: true });
  }
  return app as App;
}

/**
 * The process's credentials (Kafka, the registry, the outbox's PostgreSQL): cached for
 * SECRETS_CACHE_TTL_MS, each read traced, each re-read after a refused login logged and counted.
 */
export function appCredentials(
  config: Config,
  deps: { readSecret?: ReadSecretString; logger: Logger; metrics?: ProducerMetrics },
): CredentialSource {
  const read = deps.readSecret ?? awsSecretReader(config.secrets.region, config.secrets.timeoutMs);
  return createCredentialSource({
    read: (name) => inSpan('secretsmanager.GetSecretValue', { 'order_events.secret': name }, () => read(name)),
    kafkaSecretName: config.secrets.kafkaSecretName,
    registrySecretName: config.secrets.registrySecretName,
    postgresSecretName: config.source.outbox.secretName,
    ttlMs: config.secrets.cacheTtlMs,
    onReread: (which) => {
      deps.logger.warn(`${which} refused the cached credentials; re-reading the secret once`);
      (deps.metrics ?? noMetrics).secretReread(which);
    },
  });
}

function registryOf(config: Config, credentials: CredentialSource): RegistryClient {
  return createRegistryClient({
    credentials: () => credentials.registry(),
    invalidateCredentials: () => credentials.invalidate('registry'),
    timeoutMs: config.registry.timeoutMs,
  });
}

/** Schema ids from the registry (registered or looked up as REGISTRY_AUTO_REGISTER says), each lookup traced. */
function tracedSchemaIds(config: Config, registry: RegistryClient): SchemaIds {
  const ids = createSchemaIds(registry, {
    autoRegister: config.registry.autoRegister,
    compatibility: config.registry.compatibility,
  });
  return {
    ...ids,
    idFor: (subject, schema) =>
      inSpan('schema_registry.schema_id', { 'order_events.subject': subject }, () => ids.idFor(subject, schema)),
  };
}

/** The produceEvents activity's dependencies over the app's engine and settings. */
export function activityDeps(app: App, extra: Partial<ActivityDeps> = {}): ActivityDeps {
  const { config } = app;
  return {
    produceRun: (request) => app.engine.produceRun(request),
    source: app.source,
    config: {
      maxEventCount: config.temporal.maxEventCount,
      activity: config.temporal.activity,
      transactionMaxTimeoutMs: config.kafka.transactionMaxTimeoutMs,
      follow: {
        commitEveryRows: config.source.outbox.follow.commitEveryRows,
        segmentMs: config.source.outbox.follow.segmentMs,
        segmentsPerRun: config.source.outbox.follow.segmentsPerRun,
        walHeartbeatMs: config.source.outbox.follow.walHeartbeatMs,
      },
    },
    ...(app.follower ? { follower: app.follower } : {}),
    lagBytes: (source, bytes) => app.metrics.sourceLagWal(source, bytes),
    ...extra,
  };
}
