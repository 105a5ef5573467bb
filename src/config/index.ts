// Every setting the app reads, validated once at start-up. Besides loadConfig, only the local
// stack's settings (local-env.ts) and the worker's report of where settings came from read process.env.
// The defaults are the local stack's (npm run stack:up). A deployment sets the settings listed
// first in schema.ts; the worker logs where each of those came from (effective.ts).
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { wordIssues } from '../json.ts';
import { shortName } from '../pg-names.ts';
import { checkAcross, runsTopicOf } from './checks.ts';
import { settingsSchema, type Env } from './schema.ts';

export interface Config {
  logLevel: Env['LOG_LEVEL'];
  /** The worker's Prometheus endpoint (the SDK's metrics and ours), or undefined for none. */
  metricsAddress: string | undefined;
  /** OpenTelemetry traces: where spans go (the exporter reads its own endpoint, headers and timeout). */
  tracing: { exporter: 'otlp' | 'console' | 'none'; protocol: 'http/protobuf' | 'http/json' };
  secrets: {
    region: string;
    kafkaSecretName: string;
    registrySecretName: string;
    cacheTtlMs: number;
    timeoutMs: number;
  };
  kafka: {
    /** The producer backend: kafkajs (default) or librdkafka (@confluentinc/kafka-javascript). */
    client: Env['KAFKA_CLIENT'];
    clientId: string;
    caFile: string | undefined;
    topic: string;
    dlqTopic: string;
    /** The run ledger: one record per committed run, written in the run's transaction. */
    runsTopic: string;
    /** The ledger's partition count when `topics ensure` creates it. */
    runsPartitions: number;
    topicPartitions: number;
    topicReplicationFactor: number;
    compression: Env['KAFKA_COMPRESSION'];
    batchMaxMessages: number;
    batchMaxBytes: number;
    maxMessageBytes: number;
    retries: number;
    retryInitialMs: number;
    /** Transient Kafka failures a run's transaction is restarted after (fenced, resent) within one attempt. */
    transactionRestarts: number;
    connectionTimeoutMs: number;
    requestTimeoutMs: number;
    sendTimeoutMs: number;
    /** Bound on reading the run ledger up to its end before deciding (fails closed). */
    ledgerTimeoutMs: number;
    runsRetentionMs: number;
    transactionMaxTimeoutMs: number;
  };
  registry: {
    subject: string;
    dlqSubject: string;
    autoRegister: boolean;
    compatibility: Env['REGISTRY_COMPATIBILITY'];
    timeoutMs: number;
  };
  /** Where events come from (EVENT_SOURCE) and, for the outbox, where it is. */
  source: {
    kind: Env['EVENT_SOURCE'];
    /** The name a run gives to ask for this source: `generator`, or the outbox's name. */
    name: string;
    outbox: {
      secretName: string;
      table: string;
      /** The position chain's and the fence's name. */
      name: string;
      queryTimeoutMs: number;
      pageRows: number;
      /** The replication slot it is read through (OUTBOX_SLOT). */
      slot: string;
      /** The following relay (FOLLOW_*). */
      follow: {
        commitEveryMs: number;
        commitEveryRows: number;
        segmentMs: number;
        segmentsPerRun: number;
        walHeartbeatMs: number;
      };
    };
  };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** TLS to Temporal: a client certificate (mTLS, e.g. Temporal Cloud) and/or the server's CA; neither: the system's CAs. */
    tls: { client: { certFile: string; keyFile: string } | undefined; caFile: string | undefined } | undefined;
    uiUrl: string;
    maxConcurrentActivities: number | undefined;
    maxEventCount: number;
    /** The produceEvents activity's timeouts; the workflow reads them from the worker (a local activity). */
    activity: { startToCloseTimeoutMs: number; heartbeatTimeoutMs: number };
    /** A prebuilt workflow bundle (npm run bundle:workflows); unset, the worker bundles at start. */
    workflowBundle: string | undefined;
  };
}

/** Reads and validates every setting; throws one ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as shells and compose files often export them that way.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    const problems = wordIssues(
      parsed.error.issues,
      (key, message) => `${key}: ${message}, got ${JSON.stringify(env[key])}`,
      '\n  ',
    );
    throw new ConfigError(`invalid configuration:\n  ${problems}`);
  }
  const e = parsed.data;
  checkAcross(e);
  return {
    logLevel: e.LOG_LEVEL,
    metricsAddress: e.METRICS_ADDRESS,
    tracing: tracingOf(e),
    secrets: {
      region: e.AWS_REGION,
      kafkaSecretName: e.KAFKA_SECRET_NAME,
      registrySecretName: e.REGISTRY_SECRET_NAME,
      cacheTtlMs: e.SECRETS_CACHE_TTL_MS,
      timeoutMs: e.SECRETS_TIMEOUT_MS,
    },
    kafka: kafkaOf(e),
    registry: {
      subject: e.REGISTRY_SUBJECT,
      dlqSubject: e.REGISTRY_DLQ_SUBJECT,
      autoRegister: e.REGISTRY_AUTO_REGISTER,
      compatibility: e.REGISTRY_COMPATIBILITY,
      timeoutMs: e.REGISTRY_TIMEOUT_MS,
    },
    source: sourceOf(e),
    temporal: temporalOf(e),
  };
}

function sourceOf(e: Env): Config['source'] {
  // `order_outbox` and `public.order_outbox` are one table, so one source.
  const table = e.OUTBOX_TABLE.replace(/^public\./, '');
  const outboxName = e.OUTBOX_SOURCE_NAME ?? `outbox:${table}`;
  return {
    kind: e.EVENT_SOURCE,
    name: e.EVENT_SOURCE === 'generator' ? 'generator' : outboxName,
    outbox: {
      secretName: e.POSTGRES_SECRET_NAME,
      table,
      name: outboxName,
      queryTimeoutMs: e.OUTBOX_QUERY_TIMEOUT_MS,
      pageRows: e.OUTBOX_PAGE_ROWS,
      slot: e.OUTBOX_SLOT ?? defaultSlot(table, e.KAFKA_TOPIC, outboxName),
      follow: {
        commitEveryMs: e.FOLLOW_COMMIT_INTERVAL_MS,
        commitEveryRows: e.FOLLOW_COMMIT_ROWS,
        segmentMs: e.FOLLOW_SEGMENT_MS,
        segmentsPerRun: e.FOLLOW_SEGMENTS_PER_RUN,
        walHeartbeatMs: e.FOLLOW_WAL_HEARTBEAT_MS,
      },
    },
  };
}

/** One slot per table, topic and source: each deployment confirms its own position. */
function defaultSlot(table: string, topic: string, source: string): string {
  const hash = createHash('sha256').update(`${topic}\0${source}`).digest('hex').slice(0, 8);
  return shortName(`${table.replace('.', '_')}_${hash}`, '_slot');
}

function kafkaOf(e: Env): Config['kafka'] {
  return {
    client: e.KAFKA_CLIENT,
    clientId: e.KAFKA_CLIENT_ID,
    caFile: e.KAFKA_SSL_CA_FILE,
    topic: e.KAFKA_TOPIC,
    dlqTopic: e.KAFKA_DLQ_TOPIC,
    runsTopic: runsTopicOf(e),
    runsPartitions: e.KAFKA_RUNS_PARTITIONS,
    topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
    topicReplicationFactor: e.KAFKA_TOPIC_REPLICATION_FACTOR,
    compression: e.KAFKA_COMPRESSION,
    batchMaxMessages: e.KAFKA_BATCH_MAX_MESSAGES,
    batchMaxBytes: e.KAFKA_BATCH_MAX_BYTES,
    maxMessageBytes: e.KAFKA_MAX_MESSAGE_BYTES,
    retries: e.KAFKA_RETRIES,
    retryInitialMs: e.KAFKA_RETRY_INITIAL_MS,
    transactionRestarts: e.KAFKA_TRANSACTION_RESTARTS,
    connectionTimeoutMs: e.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: e.KAFKA_REQUEST_TIMEOUT_MS,
    sendTimeoutMs: e.KAFKA_SEND_TIMEOUT_MS,
    ledgerTimeoutMs: e.KAFKA_LEDGER_TIMEOUT_MS,
    runsRetentionMs: e.KAFKA_RUNS_RETENTION_MS,
    transactionMaxTimeoutMs: e.KAFKA_TRANSACTION_MAX_TIMEOUT_MS,
  };
}

function temporalOf(e: Env): Config['temporal'] {
  // mTLS with a client certificate, TLS verified against a CA file, or TLS against the system's
  // CAs (TEMPORAL_TLS=true); never plaintext when any of them is set.
  const tls = Boolean(e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_CA_FILE || e.TEMPORAL_TLS);
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    tls: tls
      ? {
          client:
            e.TEMPORAL_TLS_CERT_FILE && e.TEMPORAL_TLS_KEY_FILE
              ? { certFile: e.TEMPORAL_TLS_CERT_FILE, keyFile: e.TEMPORAL_TLS_KEY_FILE }
              : undefined,
          caFile: e.TEMPORAL_TLS_CA_FILE,
        }
      : undefined,
    uiUrl: e.TEMPORAL_UI_URL,
    maxConcurrentActivities: e.TEMPORAL_MAX_CONCURRENT_ACTIVITIES,
    maxEventCount: e.MAX_EVENT_COUNT,
    activity: {
      startToCloseTimeoutMs: e.ACTIVITY_START_TO_CLOSE_TIMEOUT_MS,
      heartbeatTimeoutMs: e.ACTIVITY_HEARTBEAT_TIMEOUT_MS,
    },
    workflowBundle: e.WORKFLOW_BUNDLE,
  };
}

/** OTEL_TRACES_EXPORTER, or otlp when an OTLP endpoint is set; OTEL_SDK_DISABLED=true wins. */
function tracingOf(e: Env): Config['tracing'] {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = e.OTEL_SDK_DISABLED ? 'none' : (e.OTEL_TRACES_EXPORTER ?? (endpoint ? 'otlp' : 'none'));
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  return { exporter, protocol };
}
