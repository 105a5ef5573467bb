// The credential source (src/secrets.ts): its cache, and secrets refused before use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthenticationError, SecretError, TransientError } from '../src/errors.ts';
import { createCredentialSource, withReread } from '../src/secrets.ts';

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

describe('the PostgreSQL secret and re-reads', () => {
  const pg = { host: 'db.internal', database: 'orders', user: 'relay', password: 'pw' };
  const source = (read: (name: string) => Promise<string>, extra: { postgresSecretName?: string } = {}) => {
    const rereads: string[] = [];
    const s = createCredentialSource({
      read,
      kafkaSecretName: 'k',
      registrySecretName: 'r',
      ...extra,
      ttlMs: 60_000,
      onReread: (which) => rereads.push(which),
    });
    return { s, rereads };
  };

  test('postgres(): port 5432 and TLS by default for a remote host, off for the local one; cached like the others', async () => {
    let reads = 0;
    const { s } = source(
      async () => {
        reads++;
        return JSON.stringify(pg);
      },
      { postgresSecretName: 'order-events/postgres' },
    );
    assert.deepEqual(await s.postgres(), { ...pg, port: 5432, ssl: true });
    await s.postgres();
    assert.equal(reads, 1);
    const local = source(async () => JSON.stringify({ ...pg, host: '127.0.0.1', port: 5433 }), {
      postgresSecretName: 'p',
    });
    assert.equal((await local.s.postgres()).ssl, false);
  });

  test('postgres() without a configured secret name is a SecretError naming the setting', async () => {
    const { s } = source(async () => '{}');
    await assert.rejects(
      s.postgres(),
      (e: Error) => e instanceof SecretError && /POSTGRES_SECRET_NAME/.test(e.message),
    );
  });

  test('invalidate tells onReread which secret is read again (the metric and the log line)', async () => {
    const { s, rereads } = source(async () => JSON.stringify(pg), { postgresSecretName: 'p' });
    s.invalidate('postgres');
    s.invalidate('kafka');
    assert.deepEqual(rereads, ['postgres', 'kafka']);
  });

  test('withReread: a refused login re-reads once and tries again; a second refusal is final and says so', async () => {
    let tries = 0;
    let rereads = 0;
    const ok = await withReread(
      async () => {
        if (++tries === 1) throw new AuthenticationError('refused');
        return 'in';
      },
      () => rereads++,
    );
    assert.deepEqual([ok, tries, rereads], ['in', 2, 1]);
    await assert.rejects(
      withReread(
        async () => {
          throw new AuthenticationError('PostgreSQL refused the credentials');
        },
        () => rereads++,
      ),
      (e: Error) =>
        e instanceof AuthenticationError &&
        /refused the credentials \(also after re-reading the secret\)$/.test(e.message),
    );
    assert.equal(rereads, 2);
    // Any other failure is not a reason to re-read.
    await assert.rejects(
      withReread(
        async () => {
          throw new TransientError('down');
        },
        () => rereads++,
      ),
      TransientError,
    );
    assert.equal(rereads, 2);
  });
});
