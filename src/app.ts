// The composition root for everything long-lived: one credential cache, one registry client,
// one producer per process. The worker and the commands build it once and close it once.
import type { ActivityDeps } from './activities/index.ts';
import type { Config } from './config/index.ts';
import { createKafkaProducer, type EventProducer } from './kafka/producer.ts';
import { createLogger, type Logger } from './logger.ts';
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
  credentials: CredentialSource;
  registry: RegistryClient;
  schemaIds: SchemaIds;
  producer: EventProducer;
  engine: Engine;
  /** Where the events come from (EVENT_SOURCE). */
  source: EventSource;
  /** The following relay's follower for a workflow id (EVENT_SOURCE=outbox only). */
  follower?: (workflowId: string) => OutboxFollower;
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  metrics: ProducerMetrics;
  close(): Promise<void>;
}

export function createApp(
  config: Config,
  overrides: { logger?: Logger; readSecret?: ReadSecretString; metrics?: ProducerMetrics; adoptSlot?: boolean } = {},
): App {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const metrics = overrides.metrics ?? noMetrics;
  const read = overrides.readSecret ?? awsSecretReader(config.secrets.region, config.secrets.timeoutMs);
  const credentials = credentialSource(config, read, metrics);
  const registry = createRegistryClient({
    credentials: () => credentials.registry(),
    invalidateCredentials: () => credentials.invalidate('registry'),
    timeoutMs: config.registry.timeoutMs,
  });
  const ids = createSchemaIds(registry, {
    autoRegister: config.registry.autoRegister,
    compatibility: config.registry.compatibility,
  });
  const schemaIds: SchemaIds = {
    ...ids,
    idFor: (subject, schema) =>
      inSpan('schema_registry.schema_id', { 'order_events.subject': subject }, () => ids.idFor(subject, schema)),
  };
  const producer = createKafkaProducer({ config: config.kafka, credentials, logger });
  const orderEventSchema = loadSchema(ORDER_EVENT_SCHEMA_FILE);
  const deadLetterSchema = loadSchema(DEAD_LETTER_SCHEMA_FILE);
  const engine = createEngine({
    config: { ...config.kafka, subject: config.registry.subject, dlqSubject: config.registry.dlqSubject },
    producer,
    schemaIds,
    orderEventSchema,
    deadLetterSchema,
    logger,
    metrics,
  });
  const source = createEventSource(config, read, logger, {
    metrics,
    ...(overrides.adoptSlot ? { adoptSlot: true } : {}),
  });
  return {
    config,
    logger,
    source,
    ...(config.source.kind === 'outbox'
      ? { follower: (workflowId: string) => createFollower(config, read, logger, { metrics, workflowId }) }
      : {}),
    credentials,
    registry,
    schemaIds,
    producer,
    engine,
    orderEventSchema,
    deadLetterSchema,
    metrics,
    close: async () => {
      await producer.close();
      if (source.kind === 'cursor') await source.close();
    },
  };
}

/** Kafka's and the registry's credentials, cached, each read traced and each re-read counted. */
function credentialSource(config: Config, read: ReadSecretString, metrics: ProducerMetrics): CredentialSource {
  const cached = createCredentialSource({
    read: (name) => inSpan('secretsmanager.GetSecretValue', { 'order_events.secret': name }, () => read(name)),
    kafkaSecretName: config.secrets.kafkaSecretName,
    registrySecretName: config.secrets.registrySecretName,
    ttlMs: config.secrets.cacheTtlMs,
  });
  return {
    ...cached,
    invalidate: (which) => {
      metrics.secretReread(which);
      cached.invalidate(which);
    },
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
