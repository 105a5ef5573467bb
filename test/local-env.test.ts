// The local stack file (.stack/env): all or nothing, and the worker's settings line says which.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { effectiveSettings, forgottenSettings, localStackNote } from '../src/config/effective.ts';
import { loadConfig } from '../src/config/index.ts';
import { applyLocalStackEnv } from '../src/local-env.ts';

function stackFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'stack-env-')), 'env');
  writeFileSync(
    file,
    [
      'export AWS_REGION=eu-west-2',
      'export AWS_ACCESS_KEY_ID=local-stack',
      'export AWS_SECRET_ACCESS_KEY=local-stack',
      'export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4566',
      'export TEMPORAL_ADDRESS=127.0.0.1:7233',
      '# a comment',
      "export TEMPORAL_UI_URL='http://127.0.0.1:8233'",
    ].join('\n'),
  );
  return file;
}

test('with no connection setting in the environment, the file fills every unset variable', () => {
  const file = stackFile();
  const env: NodeJS.ProcessEnv = { KAFKA_TOPIC: 'mine' };
  const local = applyLocalStackEnv(file, env);
  assert.equal(local.applied, true);
  assert.equal(env['AWS_ACCESS_KEY_ID'], 'local-stack');
  assert.equal(env['TEMPORAL_UI_URL'], 'http://127.0.0.1:8233', 'quotes are removed');
  assert.equal(env['KAFKA_TOPIC'], 'mine', 'what the environment sets wins');
});

test('one connection setting of its own in the environment and nothing is taken from the file', () => {
  for (const [name, value] of [
    ['AWS_PROFILE', 'prod'],
    ['AWS_ROLE_ARN', 'arn:aws:iam::1:role/x'],
    ['TEMPORAL_ADDRESS', 'temporal.internal:7233'],
    ['KAFKA_SECRET_NAME', 'prod/kafka'],
  ] as const) {
    const env: NodeJS.ProcessEnv = { [name]: value };
    const local = applyLocalStackEnv(stackFile(), env);
    assert.equal(local.applied, false, name);
    assert.ok(!local.applied && local.reason === `the environment sets ${name}`, JSON.stringify(local));
    assert.deepEqual(env, { [name]: value }, `${name}: no local endpoint or credential leaks in`);
  }
});

test("the stack's own processes (which export the file) still count as local", () => {
  const env: NodeJS.ProcessEnv = { AWS_REGION: 'eu-west-2', TEMPORAL_ADDRESS: '127.0.0.1:7233' };
  const local = applyLocalStackEnv(stackFile(), env);
  assert.equal(local.applied, true);
  assert.equal(env['AWS_ENDPOINT_URL_SECRETS_MANAGER'], 'http://127.0.0.1:4566');
});

test('ORDER_EVENTS_LOCAL_ENV=off and a missing file leave the environment alone', () => {
  const off = applyLocalStackEnv(stackFile(), { ORDER_EVENTS_LOCAL_ENV: 'off' });
  assert.deepEqual(off, { applied: false, file: off.file, reason: 'ORDER_EVENTS_LOCAL_ENV=off' });
  const missing = applyLocalStackEnv('/nonexistent/.stack/env', {});
  assert.equal(missing.applied, false);
});

test("the settings line names each connection setting's value and source, never a secret", () => {
  const env: NodeJS.ProcessEnv = { TEMPORAL_TASK_QUEUE: 'orders' };
  const local = applyLocalStackEnv(stackFile(), env);
  const settings = effectiveSettings(loadConfig(env), env, local);
  assert.equal(settings['TEMPORAL_ADDRESS'], '127.0.0.1:7233 (local stack file)');
  assert.equal(settings['TEMPORAL_TASK_QUEUE'], 'orders (environment)');
  assert.equal(settings['TEMPORAL_NAMESPACE'], 'default (default)');
  assert.equal(settings['KAFKA_RUNS_TOPIC'], 'order-events.runs (default)');
  assert.equal(settings['EVENT_SOURCE'], 'generator (default)');
  assert.equal(settings['OUTBOX_TABLE'], undefined, 'outbox settings only for the outbox source');
  const outboxEnv: NodeJS.ProcessEnv = { EVENT_SOURCE: 'outbox' };
  const outbox = effectiveSettings(loadConfig(outboxEnv), outboxEnv, applyLocalStackEnv(stackFile(), outboxEnv));
  assert.equal(outbox['POSTGRES_SECRET_NAME'], 'order-events/postgres (default)');
  assert.equal(outbox['OUTBOX_TABLE'], 'order_outbox (default)');
  assert.ok(!JSON.stringify(settings).includes('local-stack'), 'no credential value');
  assert.match(localStackNote(local), /^applied from .*env \(\d+ settings\)$/);
});

test('a deployment that sets some connection settings and forgets others is told which', () => {
  const deployed: NodeJS.ProcessEnv = { TEMPORAL_ADDRESS: 'temporal.internal:7233', AWS_REGION: 'us-east-1' };
  const local = applyLocalStackEnv(stackFile(), deployed);
  assert.equal(local.applied, false);
  assert.deepEqual(forgottenSettings(deployed, local), [
    'TEMPORAL_NAMESPACE',
    'KAFKA_SECRET_NAME',
    'REGISTRY_SECRET_NAME',
  ]);
  const localRun: NodeJS.ProcessEnv = {};
  assert.deepEqual(
    forgottenSettings(localRun, applyLocalStackEnv(stackFile(), localRun)),
    [],
    'the local stack: nothing',
  );
  assert.deepEqual(forgottenSettings({}, { applied: false, file: 'x', reason: 'no local stack file' }), []);
});
