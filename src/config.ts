// Every setting the app reads, validated once at start-up. No other module reads process.env.
// Defaults match the local stack (npm run stack:up); production overrides them by environment.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'expected an integer' })
    .int({ error: 'expected an integer' })
    .min(min, { error: `expected an integer >= ${min}` })
    .max(max, { error: `expected an integer <= ${max}` });

/** Node fires timers longer than 2^31-1 ms at once, so no time setting may exceed it. */
const MAX_TIMER_MS = 2_147_483_647;
const ms = (min: number) => int(min, MAX_TIMER_MS);

const bool = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true');
const name = z.string().trim().min(1, { error: 'expected a non-empty string' });
const file = name.refine((p) => existsSync(p), { error: 'expected the path of an existing file' });
/** A PEM file (a certificate bundle or a key), read once at start-up to refuse anything else early. */
const pem = (what: string) =>
  file.refine((p) => !existsSync(p) || /-----BEGIN [A-Z0-9 ]+-----/.test(readFileSync(p, 'utf8')), {
    error: `expected a PEM file (${what}, "-----BEGIN ...")`,
  });

const schema = z.object({
  // host:port for the worker's Prometheus endpoint (/metrics); unset, no endpoint.
  METRICS_ADDRESS: z
    .string()
    .trim()
    .regex(/^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i, { error: 'expected host:port, e.g. 127.0.0.1:9464' })
    .optional(),
  LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
    .default('info'),

  AWS_REGION: name.default('eu-west-2'),
  KAFKA_SECRET_NAME: name.default('confluent/kafka-cluster'),
  REGISTRY_SECRET_NAME: name.default('confluent/schema-registry'),
  SECRETS_CACHE_TTL_MS: ms(0).default(300_000),
  SECRETS_TIMEOUT_MS: ms(100).default(5_000),

  KAFKA_CLIENT: z.enum(['kafkajs', 'librdkafka'], { error: 'expected kafkajs or librdkafka' }).default('kafkajs'),
  KAFKA_CLIENT_ID: name.default('order-events-producer'),
  KAFKA_SSL_CA_FILE: pem('CA certificates').optional(),
  KAFKA_TOPIC: name.default('order-events'),
  KAFKA_DLQ_TOPIC: name.default('order-events.dlq'),
  // Unset: `<KAFKA_TOPIC>.runs`. Deployments may share one ledger: a run's key holds its topic.
  KAFKA_RUNS_TOPIC: name.optional(),
  // Fixed once the ledger holds records (a key's partition depends on it); see docs/exactly-once.md.
  KAFKA_RUNS_PARTITIONS: int(1, 1000).default(6),
  KAFKA_TOPIC_PARTITIONS: int(1, 10_000).default(6),
  KAFKA_TOPIC_REPLICATION_FACTOR: int(1, 32).default(1),
  KAFKA_COMPRESSION: z.enum(['snappy', 'gzip', 'none'], { error: 'expected snappy, gzip or none' }).default('snappy'),
  KAFKA_BATCH_MAX_MESSAGES: int(1, 1_000_000).default(2000),
  KAFKA_BATCH_MAX_BYTES: int(1024).default(1_048_576),
  KAFKA_MAX_MESSAGE_BYTES: int(1024).default(1_048_576),
  KAFKA_RETRIES: int(0, 100).default(10),
  // 20 ms as the Java client uses after CONCURRENT_TRANSACTIONS: back-to-back transactions hit it.
  KAFKA_RETRY_INITIAL_MS: int(1, 60_000).default(20),
  KAFKA_TRANSACTION_RESTARTS: int(0, 10).default(3),
  KAFKA_CONNECTION_TIMEOUT_MS: ms(100).default(5_000),
  KAFKA_REQUEST_TIMEOUT_MS: ms(100).default(20_000),
  KAFKA_SEND_TIMEOUT_MS: ms(100).default(25_000),
  KAFKA_LEDGER_TIMEOUT_MS: ms(100).default(15_000),
  // 30 days: longer than any backfill window or Temporal retention a reset can reach.
  KAFKA_RUNS_RETENTION_MS: int(3_600_000).default(30 * 24 * 3_600_000),
  // Removed: transactional ids derive from the run's identity only (refused with a reason when set).
  KAFKA_TRANSACTIONAL_ID_PREFIX: z.string().optional(),
  // The broker's transaction.max.timeout.ms (15 min by default): an attempt must fit in one transaction.
  KAFKA_TRANSACTION_MAX_TIMEOUT_MS: ms(1000).default(900_000),

  ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: ms(1000).default(600_000),
  ACTIVITY_HEARTBEAT_TIMEOUT_MS: ms(1000).default(60_000),

  REGISTRY_SUBJECT: name.default('order-events-value'),
  REGISTRY_DLQ_SUBJECT: name.default('order-events.dlq-value'),
  REGISTRY_AUTO_REGISTER: bool.default(true),
  REGISTRY_COMPATIBILITY: z
    .enum(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'], {
      error: 'expected a Confluent compatibility level (BACKWARD, FULL, NONE, ...)',
    })
    .optional(),
  REGISTRY_TIMEOUT_MS: ms(100).default(10_000),

  TEMPORAL_ADDRESS: name.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: name.default('default'),
  TEMPORAL_TASK_QUEUE: name.default('order-events'),
  TEMPORAL_TLS_CERT_FILE: pem('a client certificate').optional(),
  TEMPORAL_TLS_KEY_FILE: pem('a private key').optional(),
  TEMPORAL_TLS_CA_FILE: pem('CA certificates').optional(),
  TEMPORAL_UI_URL: name.default('http://127.0.0.1:8233'),
  // How many activities one worker runs at once (the SDK's default is 100); a worker polls for
  // activity tasks only while it has a free slot.
  TEMPORAL_MAX_CONCURRENT_ACTIVITIES: int(1, 10_000).optional(),
  // Run-derived order ids leave room for 1,000,000 events per run (see src/activities/order-events-source.ts).
  MAX_EVENT_COUNT: int(1, 1_000_000).default(1_000_000),
  WORKFLOW_BUNDLE: file.optional(),
  // For the fault suite only: the worker stops dead at this point of an attempt (to be killed there).
  TEST_FAULT_INJECTION: z.enum(['pause-after-commit'], { error: 'expected pause-after-commit' }).optional(),
});

type Env = z.infer<typeof schema>;

export interface Config {
  logLevel: Env['LOG_LEVEL'];
  /** The worker's Prometheus endpoint (the SDK's metrics and ours), or undefined for none. */
  metricsAddress: string | undefined;
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
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** TLS to Temporal: a client certificate (mTLS, e.g. Temporal Cloud) and/or the server's CA. */
    tls: { client: { certFile: string; keyFile: string } | undefined; caFile: string | undefined } | undefined;
    uiUrl: string;
    maxConcurrentActivities: number | undefined;
    maxEventCount: number;
    /** The produceEvents activity's timeouts; the workflow reads them from the worker (a local activity). */
    activity: { startToCloseTimeoutMs: number; heartbeatTimeoutMs: number };
    /** A prebuilt workflow bundle (npm run bundle:workflows); unset, the worker bundles at start. */
    workflowBundle: string | undefined;
  };
  /** Test-only: where the worker stops dead so the fault suite can kill it there. */
  faultInjection: Env['TEST_FAULT_INJECTION'];
}

/** Reads and validates every setting; throws one ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as shells and compose files often export them that way.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return `${key}: ${issue.message}, got ${JSON.stringify(env[key])}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  if (Boolean(e.TEMPORAL_TLS_CERT_FILE) !== Boolean(e.TEMPORAL_TLS_KEY_FILE)) {
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE must be set together',
    );
  }
  if (e.KAFKA_TRANSACTIONAL_ID_PREFIX !== undefined) {
    throw new ConfigError(
      "invalid configuration: KAFKA_TRANSACTIONAL_ID_PREFIX is no longer a setting. A run's transactional id now " +
        'derives from the run alone ("order-events-producer|v2|<topic>|<slot>|<schedule>"), so a zombie and its ' +
        'successor fence each other whatever their settings; unset it (Kafka ACLs: grant the TransactionalId prefix ' +
        '"order-events-producer|")',
    );
  }
  checkTopics(e);
  checkTimeouts(e);
  return {
    logLevel: e.LOG_LEVEL,
    metricsAddress: e.METRICS_ADDRESS,
    secrets: {
      region: e.AWS_REGION,
      kafkaSecretName: e.KAFKA_SECRET_NAME,
      registrySecretName: e.REGISTRY_SECRET_NAME,
      cacheTtlMs: e.SECRETS_CACHE_TTL_MS,
      timeoutMs: e.SECRETS_TIMEOUT_MS,
    },
    kafka: {
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
    },
    registry: {
      subject: e.REGISTRY_SUBJECT,
      dlqSubject: e.REGISTRY_DLQ_SUBJECT,
      autoRegister: e.REGISTRY_AUTO_REGISTER,
      compatibility: e.REGISTRY_COMPATIBILITY,
      timeoutMs: e.REGISTRY_TIMEOUT_MS,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      // mTLS with a client certificate, or TLS verified against a CA alone (never plaintext when one is set).
      tls:
        e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_CA_FILE
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
    },
    faultInjection: e.TEST_FAULT_INJECTION,
  };
}

const runsTopicOf = (e: Env): string => e.KAFKA_RUNS_TOPIC ?? `${e.KAFKA_TOPIC}.runs`;

/** The events, dead-letter and ledger topics must differ: a shared one would mix records of different schemas. */
function checkTopics(e: Env): void {
  const topics = {
    KAFKA_TOPIC: e.KAFKA_TOPIC,
    KAFKA_DLQ_TOPIC: e.KAFKA_DLQ_TOPIC,
    KAFKA_RUNS_TOPIC: runsTopicOf(e),
  };
  const entries = Object.entries(topics);
  const clashes = entries.flatMap(([a, ta], i) =>
    entries
      .slice(i + 1)
      .filter(([, tb]) => tb === ta)
      .map(([b]) => `${a} and ${b} are both "${ta}"`),
  );
  if (clashes.length > 0) {
    throw new ConfigError(
      `invalid configuration: ${clashes.join('; ')}; the events, dead-letter and run-ledger topics must differ`,
    );
  }
}

/**
 * Every wait inside an attempt must end well before Temporal gives up on the attempt (the heartbeat
 * timeout), and an attempt must fit in one Kafka transaction.
 */
function checkTimeouts(e: Env): void {
  const half = Math.floor(e.ACTIVITY_HEARTBEAT_TIMEOUT_MS / 2);
  const bounds = {
    KAFKA_CONNECTION_TIMEOUT_MS: e.KAFKA_CONNECTION_TIMEOUT_MS,
    KAFKA_REQUEST_TIMEOUT_MS: e.KAFKA_REQUEST_TIMEOUT_MS,
    KAFKA_SEND_TIMEOUT_MS: e.KAFKA_SEND_TIMEOUT_MS,
    KAFKA_LEDGER_TIMEOUT_MS: e.KAFKA_LEDGER_TIMEOUT_MS,
    REGISTRY_TIMEOUT_MS: e.REGISTRY_TIMEOUT_MS,
    SECRETS_TIMEOUT_MS: e.SECRETS_TIMEOUT_MS,
  };
  const problems = Object.entries(bounds)
    .filter(([, v]) => v > half)
    .map(([k, v]) => `${k}: ${v} ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (${half} ms)`);
  if (e.ACTIVITY_HEARTBEAT_TIMEOUT_MS > e.ACTIVITY_START_TO_CLOSE_TIMEOUT_MS) {
    problems.push('ACTIVITY_HEARTBEAT_TIMEOUT_MS: must not exceed ACTIVITY_START_TO_CLOSE_TIMEOUT_MS');
  }
  if (e.ACTIVITY_START_TO_CLOSE_TIMEOUT_MS > e.KAFKA_TRANSACTION_MAX_TIMEOUT_MS) {
    problems.push(
      `ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: ${e.ACTIVITY_START_TO_CLOSE_TIMEOUT_MS} ms does not fit in one Kafka transaction ` +
        `(KAFKA_TRANSACTION_MAX_TIMEOUT_MS, the broker's transaction.max.timeout.ms, is ${e.KAFKA_TRANSACTION_MAX_TIMEOUT_MS} ms)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}
