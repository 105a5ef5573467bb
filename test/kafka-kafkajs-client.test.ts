// kafkajs client settings (src/kafka/kafkajs-client.ts): SASL_SSL + PLAIN with TLS verification on,
// the CA file when set, bounded connects, requests and retries, kafkajs logs routed into ours.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logLevel } from 'kafkajs';
import { loadConfig } from '../src/config/index.ts';
import { kafkaClientConfig } from '../src/kafka/kafkajs-client.ts';
import { createLogger } from '../src/logger.ts';

const creds = { bootstrapServers: ['b1:9093', 'b2:9093'], apiKey: 'key', apiSecret: 'not-a-real-secret' };

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { logger, lines };
}

test('brokers and credentials from the secret, TLS verified, bounds from the config', () => {
  const config = loadConfig({
    KAFKA_CLIENT_ID: 'me',
    KAFKA_CONNECTION_TIMEOUT_MS: '3000',
    KAFKA_REQUEST_TIMEOUT_MS: '7000',
    KAFKA_RETRIES: '4',
    KAFKA_RETRY_INITIAL_MS: '50',
  }).kafka;
  const { logCreator, ...settings } = kafkaClientConfig(config, creds, capture().logger);
  assert.equal(typeof logCreator, 'function');
  assert.deepEqual(settings, {
    clientId: 'me',
    brokers: ['b1:9093', 'b2:9093'],
    ssl: { rejectUnauthorized: true },
    sasl: { mechanism: 'plain', username: 'key', password: 'not-a-real-secret' },
    connectionTimeout: 3000,
    requestTimeout: 7000,
    retry: { retries: 4, initialRetryTime: 50, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
  });
});

test('KAFKA_SSL_CA_FILE: its certificates are trusted, verification stays on', () => {
  const ca = join(mkdtempSync(join(tmpdir(), 'kafka-ca-')), 'ca.pem');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(ca, pem);
  const settings = kafkaClientConfig(loadConfig({ KAFKA_SSL_CA_FILE: ca }).kafka, creds, capture().logger);
  assert.deepEqual(settings.ssl, { rejectUnauthorized: true, ca: [pem] });
});

test("kafkajs's warnings and errors are warnings, the rest debug; prefixed, stack traces dropped", () => {
  const { logger, lines } = capture();
  const log = kafkaClientConfig(loadConfig({}).kafka, creds, logger).logCreator!(logLevel.INFO);
  const entry = (level: logLevel, message: string) => ({
    namespace: 'Connection',
    level,
    label: 'x',
    log: { timestamp: 't', message, broker: 'b1:9093', stack: 'Error\n    at somewhere' },
  });
  log(entry(logLevel.ERROR, 'Connection timeout'));
  log(entry(logLevel.WARN, 'Retrying'));
  log(entry(logLevel.INFO, 'Joined group'));
  assert.deepEqual(
    lines.map((l) => [l['level'], l['message'], l['broker'], 'stack' in l]),
    [
      ['warn', 'kafkajs: Connection timeout', 'b1:9093', false],
      ['warn', 'kafkajs: Retrying', 'b1:9093', false],
      ['debug', 'kafkajs: Joined group', 'b1:9093', false],
    ],
  );
});
