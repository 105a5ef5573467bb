// Every setting, validated with zod: the few a deployment must set (where the services are and
// what to produce to), then the tuning knobs. docs/configuration.md lists them in the same order.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { COMPATIBILITY_LEVELS } from '../schema/registry-constants.ts';
import { TABLE_NAME, TABLE_NAME_RULE } from '../pg-names.ts';

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
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
/** A PEM file (a certificate bundle or a key), read once at start-up to refuse anything else early. */
const pem = (what: string) =>
  file.refine((p) => !existsSync(p) || /-----BEGIN [A-Z0-9 ]+-----/.test(readFileSync(p, 'utf8')), {
    error: `expected a PEM file (${what}, "-----BEGIN ...")`,
  });
const otlpProtocol = z.enum(['http/protobuf', 'http/json'], { error: 'expected http/protobuf or http/json' });

/** What a deployment sets: where Temporal and AWS are, which secrets, which topics. */
const deployment = {
  TEMPORAL_ADDRESS: name.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: name.default('default'),
  TEMPORAL_TASK_QUEUE: name.default('order-events'),
  TEMPORAL_TLS_CERT_FILE: pem('a client certificate').optional(),
  TEMPORAL_TLS_KEY_FILE: pem('a private key').optional(),
  TEMPORAL_TLS_CA_FILE: pem('CA certificates').optional(),
  // TLS verified against the system's CAs, with no CA file or client certificate (e.g. an API key
  // deployment behind a public certificate).
  TEMPORAL_TLS: bool.optional(),
  AWS_REGION: name.default('eu-west-2'),
  KAFKA_SECRET_NAME: name.default('confluent/kafka-cluster'),
  REGISTRY_SECRET_NAME: name.default('confluent/schema-registry'),
  KAFKA_SSL_CA_FILE: pem('CA certificates').optional(),
  KAFKA_TOPIC: name.default('order-events'),
  KAFKA_DLQ_TOPIC: name.default('order-events.dlq'),
  // Unset: `<KAFKA_TOPIC>.runs`. Deployments may share one ledger: a run's key holds its topic.
  KAFKA_RUNS_TOPIC: name.optional(),
  // Where events come from: the tutorial's generator, or the PostgreSQL outbox (docs/event-sources.md).
  EVENT_SOURCE: z.enum(['generator', 'outbox'], { error: 'expected generator or outbox' }).default('generator'),
  POSTGRES_SECRET_NAME: name.default('order-events/postgres'),
  OUTBOX_TABLE: z.string().trim().regex(TABLE_NAME, { error: TABLE_NAME_RULE }).default('order_outbox'),
  // The outbox's position chain and fencing identity; unset: `outbox:<OUTBOX_TABLE>`.
  OUTBOX_SOURCE_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._:/-]{1,200}$/, { error: 'expected letters, digits and . _ : / - (at most 200)' })
    .optional(),
  // The replication slot the outbox is read through; unset: `<table>_<hash of topic and source>_slot`.
  OUTBOX_SLOT: z
    .string()
    .trim()
    .regex(/^[a-z0-9_]{1,63}$/, { error: 'expected a slot name: lower-case letters, digits and _ (at most 63)' })
    .optional(),
  REGISTRY_SUBJECT: name.default('order-events-value'),
  REGISTRY_DLQ_SUBJECT: name.default('order-events.dlq-value'),
};

const observability = {
  // host:port for the worker's Prometheus endpoint (/metrics); unset, no endpoint.
  METRICS_ADDRESS: z
    .string()
    .trim()
    .regex(/^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i, { error: 'expected host:port, e.g. 127.0.0.1:9464' })
    .optional(),
  LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
    .default('info'),
  // OpenTelemetry's own variables (the exporters also read their headers and timeouts themselves).
  OTEL_SDK_DISABLED: bool.optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none'], { error: 'expected otlp, console or none' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
  OTEL_SERVICE_NAME: name.optional(),
};

const kafkaTuning = {
  KAFKA_CLIENT: z.enum(['kafkajs', 'librdkafka'], { error: 'expected kafkajs or librdkafka' }).default('kafkajs'),
  KAFKA_CLIENT_ID: name.default('order-events-producer'),
  // Fixed once the ledger holds records (a key's partition depends on it); see docs/exactly-once.md.
  KAFKA_RUNS_PARTITIONS: int(1, 1000).default(6),
  KAFKA_TOPIC_PARTITIONS: int(1, 10_000).default(6),
  KAFKA_TOPIC_REPLICATION_FACTOR: int(1, 32).default(1),
  KAFKA_COMPRESSION: z.enum(['snappy', 'gzip', 'none'], { error: 'expected snappy, gzip or none' }).default('snappy'),
  // Upper bounds: a batch is encoded in one go on the event loop, which also runs the heartbeats.
  KAFKA_BATCH_MAX_MESSAGES: int(1, 100_000).default(2000),
  KAFKA_BATCH_MAX_BYTES: int(1024, 16_777_216).default(1_048_576),
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
};

const otherTuning = {
  SECRETS_CACHE_TTL_MS: ms(0).default(300_000),
  // Bound on connecting to the outbox's PostgreSQL and on each of its queries.
  OUTBOX_QUERY_TIMEOUT_MS: ms(100).default(10_000),
  OUTBOX_PAGE_ROWS: int(1, 100_000).default(5000),
  // The following relay (`npm run outbox -- follow`): the longest a batch collects before its commit
  // (sooner once it caught up with the WAL), and the most rows in one commit.
  FOLLOW_COMMIT_INTERVAL_MS: ms(10).default(500),
  FOLLOW_COMMIT_ROWS: int(1, 1_000_000).default(10_000),
  // One activity of the follower runs this long, then the workflow starts the next; after this many it continues as new.
  FOLLOW_SEGMENT_MS: ms(1000).default(300_000),
  FOLLOW_SEGMENTS_PER_RUN: int(1, 10_000).default(100),
  // A heartbeat into the WAL this often: an idle outbox's position moves, and prune's bound with it.
  FOLLOW_WAL_HEARTBEAT_MS: ms(100).default(10_000),
  SECRETS_TIMEOUT_MS: ms(100).default(5_000),
  ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: ms(1000).default(600_000),
  ACTIVITY_HEARTBEAT_TIMEOUT_MS: ms(1000).default(60_000),
  REGISTRY_AUTO_REGISTER: bool.default(true),
  REGISTRY_COMPATIBILITY: z
    .enum(COMPATIBILITY_LEVELS, { error: 'expected a Confluent compatibility level (BACKWARD, FULL, NONE, ...)' })
    .optional(),
  REGISTRY_TIMEOUT_MS: ms(100).default(10_000),
  TEMPORAL_UI_URL: name.default('http://127.0.0.1:8233'),
  // How many activities one worker runs at once (the SDK's default is 100); a worker polls for
  // activity tasks only while it has a free slot.
  TEMPORAL_MAX_CONCURRENT_ACTIVITIES: int(1, 10_000).optional(),
  // Run-derived order ids leave room for 1,000,000 events per run (see src/sources/generator.ts).
  MAX_EVENT_COUNT: int(1, 1_000_000).default(1_000_000),
  WORKFLOW_BUNDLE: file.optional(),
};

export const settingsSchema = z.object({ ...deployment, ...observability, ...kafkaTuning, ...otherTuning });
export type Env = z.infer<typeof settingsSchema>;
