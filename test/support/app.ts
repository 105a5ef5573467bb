// Builds the real engine against the local stack with per-test topics, subjects and secrets.
import assert from 'node:assert/strict';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import kafkajs from 'kafkajs';
import { createApp, type App } from '../../src/app.ts';
import type { RunAttempt } from '../../src/dlq/envelope.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { ensureTopics } from '../../src/kafka/topics.ts';
import { producerTopics } from '../../src/run-ledger/topic.ts';
import { readTopic, type ReadRecord } from '../../src/kafka/read-topic.ts';
import type { RunRequest } from '../../src/engine/index.ts';
import type { RunOrigin, RunReport } from '../../src/run-ledger/index.ts';
import type { RunSource } from '../../src/sources/contract.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createDecoder } from '../../src/schema/decoder.ts';
import { activeKafkaClient } from './kafka-clients.ts';
import { plaintextKafka, secretsClient, uniqueName } from './services.ts';

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
}

/** Every line logged at debug and above, kept for assertions (the secret-leak check reads them). */
export const allLogLines: string[] = [];

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const logger = createLogger('debug', (line) => {
    lines.push(line);
    allLogLines.push(line);
  });
  return { logger, lines };
}

/** Settings for one test: its own topics and subjects so tests never see each other's records. */
export function testConfig(env: Record<string, string> = {}): Config {
  const base = uniqueName('t');
  const client = activeKafkaClient();
  return loadConfig({
    ...process.env,
    ...(client ? { KAFKA_CLIENT: client } : {}),
    KAFKA_TOPIC: `${base}.events`,
    KAFKA_DLQ_TOPIC: `${base}.events.dlq`,
    KAFKA_RUNS_TOPIC: `${base}.events.runs`,
    REGISTRY_SUBJECT: `${base}.events-value`,
    REGISTRY_DLQ_SUBJECT: `${base}.events.dlq-value`,
    KAFKA_CONNECTION_TIMEOUT_MS: '3000',
    KAFKA_REQUEST_TIMEOUT_MS: '5000',
    KAFKA_SEND_TIMEOUT_MS: '8000',
    KAFKA_RETRIES: '3',
    ...env,
  });
}

export async function createTopicsFor(config: Config, partitions = config.kafka.topicPartitions): Promise<void> {
  await ensureTopics(plaintextKafka(), producerTopics({ ...config.kafka, topicPartitions: partitions }), 10_000);
}

export function testApp(config: Config, logger?: Logger): App {
  return createApp(config, { logger: logger ?? captureLogger().logger });
}

/** A run described by its identity and its events, as the tests write it. */
export interface TestRun {
  identity: { origin: RunOrigin; nominalTimeMs: number };
  params: { eventCount: number };
  /** The run's events from its first order id (a RunSource's events, generated afresh for each try). */
  events: (firstOrderId: bigint) => Iterable<unknown> | AsyncIterable<unknown>;
  run: RunAttempt & { attempt: number };
  transactionTimeoutMs: number;
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  throwIfCancelled?: () => void;
}

/** The engine's request for a TestRun: a RunSource of its own events. */
export function asRun({ identity, params, events, ...rest }: TestRun): RunRequest {
  const source: RunSource = { kind: 'run', name: 'generator', events: (input) => events(input.firstOrderId) };
  return {
    ...rest,
    source,
    eventCount: params.eventCount,
    nominalTimeMs: identity.nominalTimeMs,
    origin: identity.origin,
  };
}

/**
 * Produces `events` as one run of its own (a fresh by-hand origin) through the engine's real path:
 * fenced, ledger-checked, one transaction. For tests that are about the events, not the identity.
 */
export async function produceOnce(
  app: App,
  events: unknown[],
  run: RunAttempt & { attempt?: number } = { workflowId: uniqueName('wf-once'), runId: 'run-once' },
): Promise<RunReport> {
  const outcome = await app.engine.produceRun(
    asRun({
      identity: { origin: { workflow: uniqueName('once') }, nominalTimeMs: Date.now() },
      params: { eventCount: Math.max(1, events.length) },
      events: () => events,
      run: { ...run, attempt: run.attempt ?? 1 },
      transactionTimeoutMs: 60_000,
    }),
  );
  if (outcome.status !== 'produced') throw new Error(`run ${outcome.key} was already produced`);
  return outcome.report;
}

export interface DecodedRecord<T> extends ReadRecord {
  schemaId: number;
  decoded: T;
}

/** Reads a topic (read_committed) and decodes each value with the schema the registry holds for its id. */
export async function readDecoded<T>(
  app: App,
  topic: string,
  opts: { timeoutMs?: number } = {},
): Promise<DecodedRecord<T>[]> {
  const records = await readTopic(plaintextKafka(), topic, opts);
  const decode = createDecoder(app.registry);
  const out: DecodedRecord<T>[] = [];
  for (const r of records) {
    const { schemaId, value } = await decode<T>(r.value);
    out.push({ ...r, schemaId, decoded: value });
  }
  return out;
}

/** The environment a child process (a command, a worker) needs to use this test's topics and subjects. */
export function envFor(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_CLIENT: config.kafka.client,
    KAFKA_TOPIC: config.kafka.topic,
    KAFKA_DLQ_TOPIC: config.kafka.dlqTopic,
    KAFKA_RUNS_TOPIC: config.kafka.runsTopic,
    REGISTRY_SUBJECT: config.registry.subject,
    REGISTRY_DLQ_SUBJECT: config.registry.dlqSubject,
    ...extra,
  };
}

export async function putSecret(name: string, value: unknown): Promise<void> {
  const SecretString = typeof value === 'string' ? value : JSON.stringify(value);
  try {
    await secretsClient().send(new CreateSecretCommand({ Name: name, SecretString }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceExistsException') throw err;
    await secretsClient().send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}

/** Sets topic-level settings on a test topic (legacy AlterConfigs: only for a test's own fresh topics). */
export async function setTopicSettings(topic: string, entries: Record<string, string>): Promise<void> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  // Applied from the metadata log a moment after AlterConfigs answers: wait until it shows.
  await topicSettingsSettle(topic, entries);
}

export async function topicSettings(topic: string, names?: string[]): Promise<Record<string, string>> {
  const admin = plaintextKafka().admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, ...(names ? { configNames: names } : {}) }],
    });
    return Object.fromEntries(resources[0]!.configEntries.map((c) => [c.configName, c.configValue]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the broker describes the topic with `entries`: under KRaft a config change is
 * applied from the metadata log a moment after AlterConfigs answers, so a read right after it may
 * still see the old values (a test that did so failed one CI run in three).
 */
export async function topicSettingsSettle(topic: string, entries: Record<string, string>): Promise<void> {
  let seen: Record<string, string> = {};
  for (let i = 0; i < 100; i++) {
    seen = await topicSettings(topic, Object.keys(entries));
    if (Object.entries(entries).every(([name, value]) => seen[name] === value)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(seen, entries, `settings of ${topic} did not settle`);
}
