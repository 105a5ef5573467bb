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
    AWS_ENDPOINT_URL_SECRETS_MANAGER: env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] ?? 'the AWS endpoint of the region',
    KAFKA_SECRET_NAME: config.secrets.kafkaSecretName,
    REGISTRY_SECRET_NAME: config.secrets.registrySecretName,
    KAFKA_TOPIC: config.kafka.topic,
    KAFKA_DLQ_TOPIC: config.kafka.dlqTopic,
    KAFKA_RUNS_TOPIC: config.kafka.runsTopic,
    KAFKA_CLIENT: config.kafka.client,
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
