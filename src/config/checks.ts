// Checks across settings, after each one parsed on its own: topics that must differ, timeouts
// that must nest, settings that go together, settings that are gone.
import { ConfigError } from '../errors.ts';
import type { Env } from './schema.ts';

export function checkAcross(e: Env): void {
  if (Boolean(e.TEMPORAL_TLS_CERT_FILE) !== Boolean(e.TEMPORAL_TLS_KEY_FILE)) {
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE must be set together',
    );
  }
  if (e.TEMPORAL_TLS === false && (e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_CA_FILE)) {
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CERT_FILE / TEMPORAL_TLS_CA_FILE',
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
}

export const runsTopicOf = (e: Env): string => e.KAFKA_RUNS_TOPIC ?? `${e.KAFKA_TOPIC}.runs`;

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
