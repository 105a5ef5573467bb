// The one line a worker logs at start: the settings that say where it connects and what it
// produces, each with where it came from, so a deployment that forgot one sees it at once.
// Names and addresses only: never a secret value (those live in Secrets Manager).
import type { LocalStackEnv } from '../local-env.ts';
import type { Config } from './index.ts';

type SettingSource = 'environment' | 'local stack file' | 'default';

function settingSource(name: string, env: NodeJS.ProcessEnv, local: LocalStackEnv): SettingSource {
  if (local.applied && local.filled.includes(name)) return 'local stack file';
  return env[name] !== undefined && env[name] !== '' ? 'environment' : 'default';
}

/** `{ TEMPORAL_ADDRESS: "127.0.0.1:7233 (default)", ... }` for the connection settings. */
export function effectiveSettings(
  config: Config,
  env: NodeJS.ProcessEnv,
  local: LocalStackEnv,
): Record<string, string> {
  const values: Record<string, string | undefined> = {
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    TEMPORAL_TLS: config.temporal.tls ? 'on' : 'off',
    AWS_REGION: config.secrets.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] || 'the AWS endpoint of the region',
    KAFKA_SECRET_NAME: config.secrets.kafkaSecretName,
    REGISTRY_SECRET_NAME: config.secrets.registrySecretName,
    KAFKA_TOPIC: config.kafka.topic,
    KAFKA_DLQ_TOPIC: config.kafka.dlqTopic,
    KAFKA_RUNS_TOPIC: config.kafka.runsTopic,
    KAFKA_CLIENT: config.kafka.client,
    EVENT_SOURCE: config.source.kind,
    ...(config.source.kind === 'outbox'
      ? { POSTGRES_SECRET_NAME: config.source.outbox.secretName, OUTBOX_TABLE: config.source.outbox.table }
      : {}),
  };
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, `${value} (${settingSource(name, env, local)})`]),
  );
}

/** What the local stack file did, for the same log line. */
export function localStackNote(local: LocalStackEnv): string {
  return local.applied
    ? `applied from ${local.file} (${local.filled.length} settings)`
    : `not applied: ${local.reason}`;
}

/** Where the services are: a deployment that sets some of these and not others has forgotten one. */
const WHERE = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'AWS_REGION', 'KAFKA_SECRET_NAME', 'REGISTRY_SECRET_NAME'];

/**
 * The connection settings left at their defaults (the local stack's) although the environment sets
 * others: a deployment that forgot one would otherwise talk to the wrong place without a word.
 */
export function forgottenSettings(env: NodeJS.ProcessEnv, local: LocalStackEnv): string[] {
  if (local.applied) return []; // the local stack: its defaults are the right ones
  const sources = WHERE.map((name) => [name, settingSource(name, env, local)] as const);
  if (!sources.some(([, source]) => source === 'environment')) return [];
  return sources.filter(([, source]) => source === 'default').map(([name]) => name);
}
