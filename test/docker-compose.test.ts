// docker-compose.yml is not run here (no Docker engine), but it must parse and keep the
// contract: the same services, loopback ports and secret names as the no-Docker stack.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const compose = (...args: string[]): string =>
  execFileSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { encoding: 'utf8' });

test('docker-compose.yml parses and declares the stack services', () => {
  const services = compose('config', '--services').trim().split('\n').sort();
  assert.deepEqual(services, ['certs', 'kafka', 'schema-registry', 'secrets-manager', 'seed-secrets', 'temporal']);
});

test('docker-compose.yml publishes the contract ports on loopback only', () => {
  const config = compose('config');
  for (const port of [9092, 9093, 8081, 7233, 8233, 4566]) {
    assert.match(config, new RegExp(`127\\.0\\.0\\.1:${port}:${port}`), `port ${port} is not published on 127.0.0.1`);
  }
  assert.doesNotMatch(config, /- "?0\.0\.0\.0:\d+/);
});

test('the compose seeder writes the two secrets the producer reads', () => {
  const seeder = readFileSync('stack/compose/seed-secrets.sh', 'utf8');
  assert.match(seeder, /put confluent\/kafka-cluster/);
  assert.match(seeder, /put confluent\/schema-registry/);
  for (const key of ['bootstrap_servers', 'api_key', 'api_secret', 'url']) assert.match(seeder, new RegExp(key));
});
