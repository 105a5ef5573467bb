// kafkajs client settings from the Kafka secret and our config: SASL_SSL + PLAIN, TLS
// verification on, bounded connects and requests, kafkajs logs routed into ours.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { KafkaCredentials } from '../secrets.ts';
import { registerSnappyCodec } from './snappy-codec.ts';

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      // kafkajs attaches stack traces to conditions it retries itself: the message and error say enough.
      const { message, ...meta } = log as typeof log & { stack?: unknown };
      delete meta.stack;
      // kafkajs is chatty at INFO (connects, joins); keep that at debug. Its errors are ours to report.
      if (level <= KafkaLogLevel.WARN) logger.warn(`kafkajs: ${message}`, meta);
      else logger.debug(`kafkajs: ${message}`, meta);
    };
}

export function kafkaClientConfig(config: Config['kafka'], creds: KafkaCredentials, logger: Logger): KafkaConfig {
  return {
    clientId: config.clientId,
    brokers: creds.bootstrapServers,
    ssl: { rejectUnauthorized: true, ...(config.caFile ? { ca: [readFileSync(config.caFile, 'utf8')] } : {}) },
    sasl: { mechanism: 'plain', username: creds.apiKey, password: creds.apiSecret },
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.retries, initialRetryTime: config.retryInitialMs, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogCreator(logger),
  };
}

export function kafkaFor(config: Config['kafka'], creds: KafkaCredentials, logger: Logger): Kafka {
  registerSnappyCodec();
  return new Kafka(kafkaClientConfig(config, creds, logger));
}
