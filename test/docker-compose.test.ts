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
  assert.deepEqual(services, [
    'certs',
    'kafka',
    'postgres',
    'schema-registry',
    'secrets-manager',
    'seed-secrets',
    'temporal',
  ]);
});

test('docker-compose.yml publishes the contract ports on loopback only', () => {
  const config = compose('config');
  for (const port of [9092, 9093, 8081, 7233, 8233, 4566]) {
    assert.match(config, new RegExp(`127\\.0\\.0\\.1:${port}:${port}`), `port ${port} is not published on 127.0.0.1`);
  }
  assert.doesNotMatch(config, /- "?0\.0\.0\.0:\d+/);
});

test("compose reuses the stack's certificate and secret scripts and runs the stack's versions", () => {
  const config = compose('config');
  assert.match(config, /\/stack\/gen-certs\.sh/);
  assert.match(config, /\/stack\/seed_secrets\.py/);
  const seeder = readFileSync('stack/seed_secrets.py', 'utf8');
  for (const key of [
    'confluent/kafka-cluster',
    'confluent/schema-registry',
    'bootstrap_servers',
    'api_key',
    'api_secret',
    'url',
  ]) {
    assert.match(seeder, new RegExp(key));
  }
  const versions = readFileSync('stack/versions.sh', 'utf8');
  const kafka = /^KAFKA_VERSION=(\S+)/m.exec(versions)?.[1];
  const moto = /^MOTO_VERSION=(\S+)/m.exec(versions)?.[1];
  assert.match(config, new RegExp(`apache/kafka:${kafka}`));
  assert.match(config, new RegExp(`motoserver/moto:${moto}`));
});
