// Each setting's own validation (src/config/schema.ts) as loadConfig reports it: the variable, what it
// expects and what it got. test/config.test.ts covers the numbers, files, topics and OTEL_* settings;
// this file the enums, names and addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ConfigError } from '../src/errors.ts';

/** The ConfigError loadConfig throws for `env`, as text. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

test('enums name their choices', () => {
  const message = refusal({
    LOG_LEVEL: 'trace',
    EVENT_SOURCE: 'kafka',
    KAFKA_CLIENT: 'rdkafka',
    REGISTRY_COMPATIBILITY: 'backward',
  });
  assert.match(message, /LOG_LEVEL: expected debug, info, warn or error, got "trace"/);
  assert.match(message, /EVENT_SOURCE: expected generator or outbox, got "kafka"/);
  assert.match(message, /KAFKA_CLIENT: expected kafkajs or librdkafka, got "rdkafka"/);
  assert.match(
    message,
    /REGISTRY_COMPATIBILITY: expected a Confluent compatibility level \(BACKWARD, FULL, NONE, \.\.\.\), got "backward"/,
  );
  assert.equal(loadConfig({ REGISTRY_COMPATIBILITY: 'FULL_TRANSITIVE' }).registry.compatibility, 'FULL_TRANSITIVE');
});

test('a name of blanks is refused, a name is trimmed, an empty variable is the default', () => {
  assert.match(refusal({ TEMPORAL_ADDRESS: '   ' }), /TEMPORAL_ADDRESS: expected a non-empty string, got " {3}"/);
  assert.equal(loadConfig({ KAFKA_TOPIC: '  orders ' }).kafka.topic, 'orders');
  assert.equal(loadConfig({ KAFKA_TOPIC: '', LOG_LEVEL: '' }).kafka.topic, 'order-events');
});

test('METRICS_ADDRESS is host:port (a bracketed IPv6 host too)', () => {
  assert.equal(loadConfig({ METRICS_ADDRESS: '0.0.0.0:9464' }).metricsAddress, '0.0.0.0:9464');
  assert.equal(loadConfig({ METRICS_ADDRESS: '[::1]:9464' }).metricsAddress, '[::1]:9464');
  for (const bad of ['9464', 'http://host:9464', 'host:port']) {
    assert.match(refusal({ METRICS_ADDRESS: bad }), /METRICS_ADDRESS: expected host:port, e\.g\. 127\.0\.0\.1:9464/);
  }
});

test('OUTBOX_TABLE and OUTBOX_SOURCE_NAME name their rules', () => {
  assert.match(
    refusal({ OUTBOX_TABLE: 'Sales.Orders' }),
    /OUTBOX_TABLE: expected a lower-case table name or schema\.table \(letters, digits, _\), got "Sales\.Orders"/,
  );
  assert.match(
    refusal({ OUTBOX_SOURCE_NAME: 'eu orders' }),
    /OUTBOX_SOURCE_NAME: expected letters, digits and \. _ : \/ - \(at most 200\), got "eu orders"/,
  );
});

test('an integer setting refuses a fraction; WORKFLOW_BUNDLE must exist', () => {
  assert.match(refusal({ KAFKA_RETRIES: '1.5' }), /KAFKA_RETRIES: expected an integer, got "1\.5"/);
  assert.match(refusal({ KAFKA_RETRIES: '101' }), /KAFKA_RETRIES: expected an integer <= 100, got "101"/);
  assert.match(
    refusal({ WORKFLOW_BUNDLE: '/nonexistent/bundle.js' }),
    /WORKFLOW_BUNDLE: expected the path of an existing file, got "\/nonexistent\/bundle\.js"/,
  );
});
