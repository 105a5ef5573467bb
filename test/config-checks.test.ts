// Checks across settings (src/config/checks.ts), on parsed settings: topics that must differ, waits
// that must nest inside an attempt, settings that go together.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAcross, runsTopicOf } from '../src/config/checks.ts';
import { settingsSchema, type Env } from '../src/config/schema.ts';
import { ConfigError } from '../src/errors.ts';

const env = (overrides: Partial<Env> = {}): Env => ({ ...settingsSchema.parse({}), ...overrides });

/** The ConfigError checkAcross throws for `overrides`, as text. */
function refusal(overrides: Partial<Env>): string {
  try {
    checkAcross(env(overrides));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(overrides)}`);
}

test('the defaults pass', () => {
  assert.doesNotThrow(() => checkAcross(env()));
  assert.equal(runsTopicOf(env()), 'order-events.runs');
});

test('a TLS key without its certificate is refused as a certificate without its key is', () => {
  assert.match(
    refusal({ TEMPORAL_TLS_KEY_FILE: 'key.pem' }),
    /TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE must be set together/,
  );
  assert.doesNotThrow(() => checkAcross(env({ TEMPORAL_TLS_KEY_FILE: 'k.pem', TEMPORAL_TLS_CERT_FILE: 'c.pem' })));
});

test('one topic for all three names every clash and why they must differ', () => {
  assert.equal(
    refusal({ KAFKA_TOPIC: 't', KAFKA_DLQ_TOPIC: 't', KAFKA_RUNS_TOPIC: 't' }),
    'invalid configuration: KAFKA_TOPIC and KAFKA_DLQ_TOPIC are both "t"; KAFKA_TOPIC and KAFKA_RUNS_TOPIC are both "t"; ' +
      'KAFKA_DLQ_TOPIC and KAFKA_RUNS_TOPIC are both "t"; the events, dead-letter and run-ledger topics must differ',
  );
});

describe('timeouts', () => {
  test('a wait of exactly half the heartbeat timeout is allowed, one ms more is not', () => {
    assert.doesNotThrow(() => checkAcross(env({ ACTIVITY_HEARTBEAT_TIMEOUT_MS: 60_000, REGISTRY_TIMEOUT_MS: 30_000 })));
    assert.match(
      refusal({ ACTIVITY_HEARTBEAT_TIMEOUT_MS: 60_000, REGISTRY_TIMEOUT_MS: 30_001 }),
      /REGISTRY_TIMEOUT_MS: 30001 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS \(30000 ms\)/,
    );
  });

  test('every problem is listed, one a line', () => {
    const message = refusal({
      ACTIVITY_HEARTBEAT_TIMEOUT_MS: 10_000,
      ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: 5_000,
      SECRETS_TIMEOUT_MS: 5_001,
      KAFKA_LEDGER_TIMEOUT_MS: 6_000,
    });
    assert.deepEqual(message.split('\n'), [
      'invalid configuration:',
      '  KAFKA_REQUEST_TIMEOUT_MS: 20000 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (5000 ms)',
      '  KAFKA_SEND_TIMEOUT_MS: 25000 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (5000 ms)',
      '  KAFKA_LEDGER_TIMEOUT_MS: 6000 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (5000 ms)',
      '  REGISTRY_TIMEOUT_MS: 10000 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (5000 ms)',
      '  SECRETS_TIMEOUT_MS: 5001 ms is above half of ACTIVITY_HEARTBEAT_TIMEOUT_MS (5000 ms)',
      '  ACTIVITY_HEARTBEAT_TIMEOUT_MS: must not exceed ACTIVITY_START_TO_CLOSE_TIMEOUT_MS',
    ]);
  });

  test("an attempt that fits exactly in the broker's transaction timeout is allowed", () => {
    assert.doesNotThrow(() =>
      checkAcross(env({ ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: 120_000, KAFKA_TRANSACTION_MAX_TIMEOUT_MS: 120_000 })),
    );
    assert.match(
      refusal({ ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: 120_001, KAFKA_TRANSACTION_MAX_TIMEOUT_MS: 120_000 }),
      /transaction.max.timeout.ms, is 120000 ms\)/,
    );
  });
});
