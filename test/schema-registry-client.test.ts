// The registry client against a fake fetch: what each HTTP status (or no answer) becomes, and the
// registry secret's refusal of plain http to a remote host. No service needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthenticationError,
  ProducerError,
  SchemaIncompatibleError,
  SchemaNotRegisteredError,
  SecretError,
  TransientError,
} from '../src/errors.ts';
import { createRegistryClient, type RegistryClient } from '../src/schema/registry-client.ts';
import { createCredentialSource } from '../src/secrets.ts';

interface SentRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A reply the fake registry gives: a status with a JSON (or raw text) body, or a thrown error. */
type FakeReply = { status: number; json?: unknown; text?: string } | Error;

/** A client whose fetch answers with `replies` in turn, recording requests and credential reads. */
function fakeRegistry(...replies: FakeReply[]) {
  const sent: SentRequest[] = [];
  let reads = 0;
  let invalidations = 0;
  const client: RegistryClient = createRegistryClient({
    credentials: async () => {
      reads++;
      return { url: 'https://registry.test:8081/apis/ccompat/v7', apiKey: 'key', apiSecret: 'hunter2' };
    },
    invalidateCredentials: () => void invalidations++,
    timeoutMs: 1000,
    fetch: async (url, init) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
      sent.push({
        url: url as string, // the client passes a string
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        body,
      });
      const reply = replies[Math.min(sent.length, replies.length) - 1]!;
      if (reply instanceof Error) throw reply;
      return new Response(reply.text ?? JSON.stringify(reply.json ?? {}), { status: reply.status });
    },
  });
  return { client, sent, reads: () => reads, invalidations: () => invalidations };
}

describe('registry client requests', () => {
  test('register POSTs the Avro schema under the encoded subject with basic auth and the registry media type', async () => {
    const fake = fakeRegistry({ status: 200, json: { id: 42 } });
    assert.equal(await fake.client.register('orders/value', '{"type":"string"}'), 42);
    assert.deepEqual(fake.sent, [
      {
        url: 'https://registry.test:8081/apis/ccompat/v7/subjects/orders%2Fvalue/versions',
        method: 'POST',
        headers: {
          Accept: 'application/vnd.schemaregistry.v1+json',
          'Content-Type': 'application/vnd.schemaregistry.v1+json',
          Authorization: `Basic ${Buffer.from('key:hunter2').toString('base64')}`,
        },
        body: { schemaType: 'AVRO', schema: '{"type":"string"}' },
      },
    ]);
  });

  test('setCompatibility PUTs the level; schemaById GETs the schema', async () => {
    const fake = fakeRegistry(
      { status: 200, json: { compatibility: 'FULL' } },
      { status: 200, json: { schema: '"x"' } },
    );
    await fake.client.setCompatibility('s', 'FULL');
    assert.equal(await fake.client.schemaById(7), '"x"');
    assert.deepEqual(
      fake.sent.map((r) => [r.method, r.url.replace('https://registry.test:8081/apis/ccompat/v7', ''), r.body]),
      [
        ['PUT', '/config/s', { compatibility: 'FULL' }],
        ['GET', '/schemas/ids/7', undefined],
      ],
    );
  });
});

describe('registry status mapper', () => {
  for (const status of [401, 403]) {
    test(`${status} twice is an AuthenticationError after exactly one re-read of the secret`, async () => {
      const fake = fakeRegistry({ status, json: { error_code: status, message: 'Unauthorized' } });
      await assert.rejects(fake.client.register('s', '{}'), (err: Error) => {
        assert.ok(err instanceof AuthenticationError, err.name);
        assert.equal(err.retryable, false);
        assert.match(err.message, new RegExp(`during registering the schema under s \\(HTTP ${status}\\)`));
        assert.match(err.message, /also after re-reading the secret/);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      });
      assert.equal(fake.sent.length, 2);
      assert.equal(fake.invalidations(), 1);
      assert.equal(fake.reads(), 2);
    });
  }

  test('a refused login that succeeds after the re-read answers normally', async () => {
    const fake = fakeRegistry({ status: 401, json: { error_code: 40101 } }, { status: 200, json: { id: 3 } });
    assert.equal(await fake.client.lookup('s', '{}'), 3);
    assert.equal(fake.invalidations(), 1);
  });

  for (const status of [409, 422]) {
    test(`${status} on register is a SchemaIncompatibleError with the registry's reason`, async () => {
      const message = 'Schema being registered is incompatible with an earlier schema';
      const fake = fakeRegistry({ status, json: { error_code: status, message } });
      await assert.rejects(fake.client.register('order-events-value', '{}'), (err: Error) => {
        assert.ok(err instanceof SchemaIncompatibleError, err.name);
        assert.equal(
          err.message,
          `schema registry rejected the schema for subject order-events-value (HTTP ${status}): ${message}`,
        );
        return true;
      });
      assert.equal(fake.invalidations(), 0);
    });
  }

  for (const errorCode of [40401, 40403]) {
    test(`404 (error_code ${errorCode}) on lookup means not registered: undefined`, async () => {
      const fake = fakeRegistry({ status: 404, json: { error_code: errorCode, message: 'not found' } });
      assert.equal(await fake.client.lookup('s', '{}'), undefined);
      assert.equal(fake.sent.length, 1);
    });
  }

  test('checkCompatibility: 404 is compatible (empty subject), 422 is incompatible with the reason', async () => {
    const fake = fakeRegistry(
      { status: 404, json: { error_code: 40401 } },
      { status: 422, json: { error_code: 42201, message: 'Invalid schema' } },
      { status: 200, json: { is_compatible: false, messages: ['field removed'] } },
    );
    assert.deepEqual(await fake.client.checkCompatibility('s', '{}'), { compatible: true, messages: [] });
    assert.deepEqual(await fake.client.checkCompatibility('s', '{}'), {
      compatible: false,
      messages: ['Invalid schema'],
    });
    assert.deepEqual(await fake.client.checkCompatibility('s', '{}'), {
      compatible: false,
      messages: ['field removed'],
    });
  });

  test('404 on schemaById is a SchemaNotRegisteredError naming the id', async () => {
    const fake = fakeRegistry({ status: 404, json: { error_code: 40403, message: 'Schema not found' } });
    await assert.rejects(fake.client.schemaById(99), (err: Error) => {
      assert.ok(err instanceof SchemaNotRegisteredError, err.name);
      assert.equal(err.message, 'schema id 99 is not known to the registry');
      return true;
    });
  });

  for (const status of [500, 503, 429]) {
    test(`${status} is a retryable TransientError`, async () => {
      const fake = fakeRegistry({ status, json: { error_code: 50001, message: 'boom' } });
      await assert.rejects(fake.client.lookup('s', '{}'), (err: Error) => {
        assert.ok(err instanceof TransientError, err.name);
        assert.equal(err.retryable, true);
        assert.equal(err.message, `schema registry error during looking up the schema under s: HTTP ${status} boom`);
        return true;
      });
    });
  }

  test('a status no rule maps stays a plain (retryable) Error naming the operation and status', async () => {
    const fake = fakeRegistry({ status: 400, text: '<html>Bad Request</html>' });
    await assert.rejects(fake.client.setCompatibility('s', 'NONE'), (err: Error) => {
      assert.ok(!(err instanceof ProducerError), err.name);
      assert.equal(err.message, 'setting NONE on s: HTTP 400 <html>Bad Request</html>');
      return true;
    });
  });

  test('a network error is a TransientError naming the host, not the credentials', async () => {
    const fake = fakeRegistry(new TypeError('fetch failed'));
    await assert.rejects(fake.client.register('s', '{}'), (err: Error) => {
      assert.ok(err instanceof TransientError, err.name);
      assert.equal(
        err.message,
        'schema registry unreachable during registering the schema under s (registry.test:8081): fetch failed',
      );
      assert.ok(err.cause instanceof TypeError);
      return true;
    });
    assert.equal(fake.invalidations(), 0);
  });

  test('no answer within the timeout is a TransientError saying so', async () => {
    const client = createRegistryClient({
      credentials: async () => ({ url: 'http://127.0.0.1:8081', apiKey: 'k', apiSecret: 's' }),
      invalidateCredentials: () => undefined,
      timeoutMs: 20,
      // Answers only by failing when the client's timeout aborts the request, as fetch does. The
      // open handle stands for fetch's socket: AbortSignal.timeout's timer alone does not keep the
      // event loop alive, and without it the test process could end before the timeout fires.
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          const socket = setTimeout(() => reject(new Error('the client never timed out')), 10_000);
          init?.signal?.addEventListener('abort', () => {
            clearTimeout(socket);
            reject(init.signal?.reason as Error);
          });
        }),
    });
    await assert.rejects(client.schemaById(1), (err: Error) => {
      assert.ok(err instanceof TransientError, err.name);
      assert.match(
        err.message,
        /^schema registry unreachable during reading schema 1 \(127\.0\.0\.1:8081\): no answer within 20 ms$/,
      );
      return true;
    });
  });
});

describe('registry secret: plain http only to this machine', () => {
  const registry = (url: string) =>
    createCredentialSource({
      read: async () => JSON.stringify({ url, api_key: 'k', api_secret: 'hunter2' }),
      kafkaSecretName: 'confluent/kafka-cluster',
      registrySecretName: 'confluent/schema-registry',
      ttlMs: 0,
    }).registry();

  test('http to loopback (localhost, 127.0.0.0/8, ::1) and https anywhere are accepted', async () => {
    for (const url of [
      'http://127.0.0.1:8081/apis/ccompat/v7',
      'http://127.8.9.10:8081',
      'http://localhost:8081',
      'http://LOCALHOST:8081',
      'http://[::1]:8081',
      'http://[0:0:0:0:0:0:0:1]:8081',
      'https://psrc-123.eu-west-2.aws.confluent.cloud',
      'https://10.0.0.5:8081',
    ]) {
      assert.equal((await registry(url)).apiSecret, 'hunter2', url);
    }
  });

  test('http to any other host is a SecretError naming the secret and key, printing neither url nor secret', async () => {
    for (const url of [
      'http://registry.example:8081',
      'http://10.0.0.5:8081',
      'http://[::2]:8081',
      'http://localhost.example.com:8081',
      'http://127.0.0.1.nip.io:8081',
    ]) {
      await assert.rejects(registry(url), (err: Error) => {
        assert.ok(err instanceof SecretError, `${url}: ${err.name}`);
        assert.equal(err.retryable, false);
        assert.match(err.message, /^secret confluent\/schema-registry: key "url" is plain http to a remote host/);
        assert.match(err.message, /use https/);
        assert.ok(!err.message.includes(new URL(url).hostname), `${url}: the value is not printed`);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      });
    }
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
