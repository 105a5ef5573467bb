// The worker's start-up settings line (src/config/effective.ts), with the local stack's outcome given
// directly: where each connection setting came from, and which were forgotten. test/local-env.test.ts
// covers the same line with a real stack file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSettings, forgottenSettings, localStackNote } from '../src/config/effective.ts';
import { loadConfig } from '../src/config/index.ts';
import type { LocalStackEnv } from '../src/local-env.ts';

const notApplied: LocalStackEnv = { applied: false, file: '/x/.stack/env', reason: 'the environment sets AWS_PROFILE' };

test('an empty variable counts as the default; TLS and the Secrets Manager endpoint are worded', () => {
  const env: NodeJS.ProcessEnv = { TEMPORAL_NAMESPACE: '', KAFKA_TOPIC: 'orders', TEMPORAL_TLS: 'true' };
  const settings = effectiveSettings(loadConfig(env), env, notApplied);
  assert.equal(settings['TEMPORAL_NAMESPACE'], 'default (default)');
  assert.equal(settings['KAFKA_TOPIC'], 'orders (environment)');
  assert.equal(settings['KAFKA_RUNS_TOPIC'], 'orders.runs (default)', 'derived from the topic, not set');
  assert.equal(settings['TEMPORAL_TLS'], 'on (environment)');
  assert.equal(settings['AWS_ENDPOINT_URL_SECRETS_MANAGER'], 'the AWS endpoint of the region (default)');
  assert.equal(effectiveSettings(loadConfig({}), {}, notApplied)['TEMPORAL_TLS'], 'off (default)');
});

test('a setting the local stack file filled is said to come from it, even when the environment now holds it', () => {
  const env: NodeJS.ProcessEnv = { AWS_REGION: 'eu-west-2', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:4566' };
  const local: LocalStackEnv = { applied: true, file: '/x/.stack/env', filled: ['AWS_ENDPOINT_URL_SECRETS_MANAGER'] };
  const settings = effectiveSettings(loadConfig(env), env, local);
  assert.equal(settings['AWS_ENDPOINT_URL_SECRETS_MANAGER'], 'http://127.0.0.1:4566 (local stack file)');
  assert.equal(settings['AWS_REGION'], 'eu-west-2 (environment)');
});

test('the local stack note says what the file did', () => {
  assert.equal(localStackNote(notApplied), 'not applied: the environment sets AWS_PROFILE');
  assert.equal(
    localStackNote({ applied: true, file: '/x/.stack/env', filled: ['A', 'B'] }),
    'applied from /x/.stack/env (2 settings)',
  );
});

test('forgotten settings: the defaults beside one set in the environment; empty counts as unset; all set, none', () => {
  assert.deepEqual(forgottenSettings({ KAFKA_SECRET_NAME: 'prod/kafka', TEMPORAL_NAMESPACE: '' }, notApplied), [
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'AWS_REGION',
    'REGISTRY_SECRET_NAME',
  ]);
  const all = {
    TEMPORAL_ADDRESS: 't:7233',
    TEMPORAL_NAMESPACE: 'prod',
    AWS_REGION: 'us-east-1',
    KAFKA_SECRET_NAME: 'k',
    REGISTRY_SECRET_NAME: 'r',
  };
  assert.deepEqual(forgottenSettings(all, notApplied), []);
  assert.deepEqual(forgottenSettings({ TEMPORAL_UI_URL: 'http://ui' }, notApplied), [], 'not a connection setting');
});
