// The credential source (src/secrets.ts): its cache, and secrets refused before use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretError, TransientError } from '../src/errors.ts';
import { createCredentialSource } from '../src/secrets.ts';

describe('credential cache', () => {
  const kafkaJson = JSON.stringify({ bootstrap_servers: 'a:1, b:2', api_key: 'k', api_secret: 's' });

  test('reads once within the TTL, again after it, and again after invalidate', async () => {
    let reads = 0;
    let clock = 0;
    const source = createCredentialSource({
      read: async () => {
        reads++;
        return kafkaJson;
      },
      kafkaSecretName: 'k',
      registrySecretName: 'r',
      ttlMs: 1000,
      now: () => clock,
    });
    assert.deepEqual((await source.kafka()).bootstrapServers, ['a:1', 'b:2']);
    await source.kafka();
    assert.equal(reads, 1);
    clock = 1001;
    await source.kafka();
    assert.equal(reads, 2);
    source.invalidate('kafka');
    await source.kafka();
    assert.equal(reads, 3);
  });

  test('a failed read is not cached', async () => {
    let fail = true;
    const source = createCredentialSource({
      read: async () => {
        if (fail) throw new TransientError('down');
        return kafkaJson;
      },
      kafkaSecretName: 'k',
      registrySecretName: 'r',
      ttlMs: 60_000,
    });
    await assert.rejects(source.kafka(), TransientError);
    fail = false;
    assert.equal((await source.kafka()).apiKey, 'k');
  });

  test('a registry url that is not a URL names the key', async () => {
    const source = createCredentialSource({
      read: async () => JSON.stringify({ url: 'not a url', api_key: 'k', api_secret: 'sekrit' }),
      kafkaSecretName: 'k',
      registrySecretName: 'confluent/schema-registry',
      ttlMs: 0,
    });
    await assert.rejects(source.registry(), (err: Error) => {
      assert.ok(err instanceof SecretError);
      assert.equal(err.message, 'secret confluent/schema-registry: key "url" is not an http(s) URL');
      return true;
    });
  });
});

describe('secrets refused before use', () => {
  const source = (kafka: unknown, registry: unknown) =>
    createCredentialSource({
      read: async (name) => JSON.stringify(name === 'kafka-secret' ? kafka : registry),
      kafkaSecretName: 'kafka-secret',
      registrySecretName: 'registry-secret',
      ttlMs: 0,
    });
  const good = {
    bootstrap_servers: 'broker-1:9093,10.0.0.2:9093,[::1]:9093',
    api_key: 'k',
    api_secret: 's3cret-value',
  };

  test('bootstrap_servers must be a comma-separated host:port list; the error names the secret and key, not the value', async () => {
    assert.deepEqual((await source(good, {}).kafka()).bootstrapServers, [
      'broker-1:9093',
      '10.0.0.2:9093',
      '[::1]:9093',
    ]);
    for (const bad of [
      'broker-1',
      'broker-1:9093;broker-2:9093',
      'kafka://broker:9093',
      'broker:0',
      'broker:99999',
      'a:1,,b:2',
    ]) {
      await assert.rejects(source({ ...good, bootstrap_servers: bad }, {}).kafka(), (err: Error) => {
        assert.ok(err instanceof SecretError, `${bad}: ${err.name}`);
        assert.equal(err.retryable, false);
        assert.match(
          err.message,
          /^secret kafka-secret: key "bootstrap_servers" is not a comma-separated list of host:port/,
        );
        assert.ok(!err.message.includes(bad), 'the value is not printed');
        return true;
      });
    }
  });

  test('a registry url carrying user:pass@ is refused without printing it', async () => {
    const url = 'https://admin:hunter2@registry.example:8081/apis/ccompat/v7';
    await assert.rejects(source(good, { url, api_key: 'k', api_secret: 's' }).registry(), (err: Error) => {
      assert.ok(err instanceof SecretError, err.name);
      assert.match(err.message, /key "url" carries a user name or password/);
      assert.doesNotMatch(err.message, /hunter2|admin/);
      return true;
    });
  });
});
