// Unit tests with fakes: the pieces whose logic does not need a service.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { DeadLetterReason, deadLetter } from '../src/dlq/envelope.ts';
import { partitionForKey } from '../src/kafka/partitioner.ts';
import { AuthenticationError, SecretError, TransientError, errorMessage, redactUrls } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import {
  DEAD_LETTER_SCHEMA_FILE,
  ORDER_EVENT_SCHEMA_FILE,
  ORDER_STATUSES,
  loadSchema,
  type OrderEvent,
} from '../src/schema/order-event.ts';
import { createRegistryClient } from '../src/schema/registry-client.ts';
import { validate } from '../src/schema/validate.ts';
import { encodeWireFormat, readWireFormat } from '../src/schema/wire-format.ts';
import { createCredentialSource } from '../src/secrets.ts';
import { withTimeout } from '../src/timeout.ts';
import { sampleEvents } from './fixtures/events.ts';

describe('OrderEvent schema', () => {
  const avsc = JSON.parse(readFileSync(ORDER_EVENT_SCHEMA_FILE, 'utf8')) as {
    name: string;
    namespace: string;
    fields: { name: string; type: unknown }[];
  };

  test('is the tutorial record with created_at as a correctly nested timestamp-millis', () => {
    assert.equal(`${avsc.namespace}.${avsc.name}`, 'com.company.streaming.OrderEvent');
    const created = avsc.fields.find((f) => f.name === 'created_at');
    assert.deepEqual(created?.type, { type: 'long', logicalType: 'timestamp-millis' });
  });

  test('the TypeScript type is in step with the .avsc', () => {
    // A value of the TS type with every key; the compiler refuses missing or extra keys here.
    const sample: Required<OrderEvent> = sampleEvents(1)[0]!;
    assert.deepEqual(Object.keys(sample).sort(), avsc.fields.map((f) => f.name).sort());
    const status = avsc.fields.find((f) => f.name === 'order_status')?.type as { symbols: string[] };
    assert.deepEqual(status.symbols, [...ORDER_STATUSES]);
    assert.deepEqual(validate(loadSchema(ORDER_EVENT_SCHEMA_FILE).type, sample), []);
  });

  test('validation lists every bad field path and why', () => {
    const { type } = loadSchema(ORDER_EVENT_SCHEMA_FILE);
    const problems = validate(type, { order_id: 1.5, customer_id: null, order_status: 'LOST', order_total: 3 });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['order_id', 'customer_id', 'order_status', 'created_at'],
    );
    assert.match(problems[0]!.reason, /expected long, got 1.5/);
    assert.match(problems[3]!.reason, /got nothing \(missing\)/);
    assert.deepEqual(validate(type, 'nope'), [{ path: '(root)', reason: 'expected a record, got "nope"' }]);
  });

  test('the dead-letter envelope is valid under its own schema', () => {
    const { type } = loadSchema(DEAD_LETTER_SCHEMA_FILE);
    const envelope = deadLetter(
      { order_id: 1n },
      { reason: DeadLetterReason.invalid, message: 'm' },
      'order-events',
      5,
    );
    assert.deepEqual(validate(type, envelope), []);
    assert.equal(envelope.original_event, '{"order_id":"1"}');
  });
});

test('wire format: magic byte, big-endian id, Avro body; and read back', () => {
  const { type } = loadSchema(ORDER_EVENT_SCHEMA_FILE);
  const event = sampleEvents(1)[0]!;
  const bytes = encodeWireFormat(0x01020304, type, event);
  assert.deepEqual([...bytes.subarray(0, 5)], [0, 1, 2, 3, 4]);
  const { schemaId, body } = readWireFormat(bytes);
  assert.equal(schemaId, 0x01020304);
  assert.deepEqual({ ...(type.fromBuffer(body) as OrderEvent) }, event);
  assert.throws(() => readWireFormat(Buffer.from([1, 0, 0, 0, 1])), /not in the Confluent wire format/);
});

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

  test('URLs in error messages and log lines lose their user-info', () => {
    assert.equal(
      redactUrls('GET https://admin:hunter2@host:8081/x failed; see http://u@h/y and https://plain/z'),
      'GET https://***@host:8081/x failed; see http://***@h/y and https://plain/z',
    );
    assert.equal(errorMessage(new Error('fetch https://a:b@h/ failed')), 'fetch https://***@h/ failed');
    const lines: string[] = [];
    createLogger('info', (l) => lines.push(l)).warn('x', { url: 'https://admin:hunter2@h/' });
    assert.doesNotMatch(lines[0]!, /hunter2/);
  });
});

describe('registry client with a fake HTTP server', () => {
  const creds = (secret: string) => async () => ({ url: 'http://registry.test', apiKey: 'key', apiSecret: secret });

  test('401 re-reads the secret once and retries with the new credentials (rotation)', async () => {
    let secret = 'old';
    let invalidations = 0;
    const seen: string[] = [];
    const client = createRegistryClient({
      credentials: () => creds(secret)(),
      invalidateCredentials: () => {
        invalidations++;
        secret = 'new';
      },
      timeoutMs: 1000,
      fetch: async (_url, init) => {
        const auth = (init?.headers as Record<string, string>)['Authorization']!;
        seen.push(Buffer.from(auth.slice(6), 'base64').toString());
        return auth.endsWith(Buffer.from('key:new').toString('base64'))
          ? new Response('{"id":7}', { status: 200 })
          : new Response('{"error_code":401,"message":"Unauthorized"}', { status: 401 });
      },
    });
    assert.equal(await client.register('s', '{}'), 7);
    assert.deepEqual(seen, ['key:old', 'key:new']);
    assert.equal(invalidations, 1);
  });

  test('401 after the re-read is a non-retryable AuthenticationError', async () => {
    const client = createRegistryClient({
      credentials: creds('bad'),
      invalidateCredentials: () => undefined,
      timeoutMs: 1000,
      fetch: async () => new Response('{"error_code":401}', { status: 401 }),
    });
    await assert.rejects(client.register('s', '{}'), (err: Error) => {
      assert.ok(err instanceof AuthenticationError);
      assert.ok(!err.message.includes('bad'));
      return true;
    });
  });

  test('a 5xx is retryable', async () => {
    const client = createRegistryClient({
      credentials: creds('x'),
      invalidateCredentials: () => undefined,
      timeoutMs: 1000,
      fetch: async () => new Response('{"message":"boom"}', { status: 503 }),
    });
    await assert.rejects(client.lookup('s', '{}'), TransientError);
  });
});

test('withTimeout rejects with a retryable error naming the operation', async () => {
  await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'waiting for Godot'), (err: Error) => {
    assert.ok(err instanceof TransientError);
    assert.equal(err.name, 'OperationTimeoutError');
    assert.equal(err.message, 'waiting for Godot did not finish within 20 ms');
    return true;
  });
});

describe('partitioner', () => {
  test("equals kafkajs's Java-compatible DefaultPartitioner on random byte and text keys of every length", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    let compared = 0;
    for (const count of [1, 6, 7, 100]) {
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 2000; i++) {
        const bytes = randomBytes(i % 70);
        for (const key of [bytes, `${bytes.toString('base64').slice(0, i % 90)}ü€`]) {
          const theirs = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
          assert.equal(partitionForKey(key, count), theirs, `key ${JSON.stringify(key)} over ${count} partitions`);
          compared++;
        }
      }
    }
    assert.equal(compared, 16_000);
  });
});
