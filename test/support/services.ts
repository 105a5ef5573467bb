// What the tests need to reach the local stack, read from the environment that
// `stack.sh up` writes to .stack/env (scripts/test.sh sources it).
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests with "npm test" (it brings the stack up and sources .stack/env)`,
    );
  }
  return value;
}

export const plaintextBrokers = (): string[] => required('KAFKA_PLAINTEXT_BROKERS').split(',');
export const caFile = (): string => required('KAFKA_SSL_CA_FILE');
export const temporalAddress = (): string => required('TEMPORAL_ADDRESS');
export const temporalUiUrl = (): string => required('TEMPORAL_UI_URL');
export const temporalCli = (): string => required('TEMPORAL_CLI');

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A kafkajs client on the PLAINTEXT listener, with bounded waits so a dead broker fails fast. */
export function plaintextKafka(overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'test',
    brokers: plaintextBrokers(),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2 },
    logLevel: logLevel.NOTHING,
    ...overrides,
  });
}

export function secretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

export async function readSecretJson(name: string): Promise<Record<string, string>> {
  const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: name }));
  return JSON.parse(out.SecretString ?? '{}') as Record<string, string>;
}

export function localCa(): string {
  return readFileSync(caFile(), 'utf8');
}

/** Fails loudly, naming the service, when one the suite needs is not answering. */
export async function requireService(name: string, probe: () => Promise<unknown>): Promise<void> {
  try {
    await probe();
  } catch (err) {
    throw new Error(
      `${name} is not reachable (${(err as Error).message}). Start the local stack with "npm run stack:up"; "npm run stack:status" shows which service is down.`,
    );
  }
}

export const stackPid = (
  service: 'kafka' | `kafka-${number}` | 'registry' | 'temporal' | 'secrets' | 'postgres',
): number => Number(readFileSync(`${required('STACK_PIDS')}/${service}.pid`, 'utf8').trim());
export const kafkaLibs = (): string => required('KAFKA_LIBS');

/** A TCP port on loopback that nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
