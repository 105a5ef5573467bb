// What a failed registry request becomes (src/schema/registry-errors.ts), called directly: the class
// decides the retry, the message names the operation and subject, never a credential.
// test/schema-registry-client.test.ts checks the same mapping through the client's requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthenticationError, ProducerError, SchemaIncompatibleError, TransientError } from '../src/errors.ts';
import { registryError, unreachableError } from '../src/schema/registry-errors.ts';

test('each operation is named in the message', () => {
  const cases = [
    [{ op: 'register', subject: 's' }, 'registering the schema under s'],
    [{ op: 'lookup', subject: 's' }, 'looking up the schema under s'],
    [{ op: 'checkCompatibility', subject: 's' }, 'checking compatibility with s'],
    [{ op: 'setCompatibility', subject: 's', level: 'FULL' }, 'setting FULL on s'],
    [{ op: 'schemaById', id: 9 }, 'reading schema 9'],
  ] as const;
  for (const [call, words] of cases) {
    assert.equal(registryError(400, 40001, 'bad', call).message, `${words}: HTTP 400 bad`);
    assert.equal(
      registryError(503, undefined, undefined, call).message,
      `schema registry error during ${words}: HTTP 503`,
    );
  }
});

test('403 is a refused login whatever the operation; 429 and 5xx are retryable', () => {
  const denied = registryError(403, 40301, 'forbidden', { op: 'schemaById', id: 1 });
  assert.ok(denied instanceof AuthenticationError);
  assert.equal(denied.retryable, false);
  // The client adds "also after re-reading the secret" once its one re-read was refused too (withReread).
  assert.match(denied.message, /during reading schema 1 \(HTTP 403\)$/);
  for (const status of [429, 500, 599]) {
    assert.ok(
      registryError(status, undefined, 'x', { op: 'lookup', subject: 's' }) instanceof TransientError,
      String(status),
    );
  }
});

test('409/422 mean an incompatible schema only when registering; elsewhere they stay plain errors with the status', () => {
  assert.ok(
    registryError(409, 409, 'incompatible', { op: 'register', subject: 's' }) instanceof SchemaIncompatibleError,
  );
  assert.equal(
    registryError(422, 42201, undefined, { op: 'register', subject: 's' }).message,
    'schema registry rejected the schema for subject s (HTTP 422): no message',
  );
  const other = registryError(422, 42203, 'invalid compatibility level', {
    op: 'setCompatibility',
    subject: 's',
    level: 'NONE',
  });
  assert.ok(!(other instanceof ProducerError), 'not a ProducerError: retried like any unknown error');
  assert.deepEqual([(other as { status?: number }).status, (other as { errorCode?: number }).errorCode], [422, 42203]);
  assert.ok(!(registryError(404, 40401, 'nope', { op: 'register', subject: 's' }) instanceof ProducerError));
});

test('no answer: the host without user-info, the timeout in words, the cause kept, the URL in the reason redacted', () => {
  const call = { op: 'lookup', subject: 'orders-value' } as const;
  const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
  const slow = unreachableError(timeout, call, 'https://key:hunter2@registry.example:8081/base', 2500);
  assert.ok(slow instanceof TransientError);
  assert.equal(
    slow.message,
    'schema registry unreachable during looking up the schema under orders-value (registry.example:8081): no answer within 2500 ms',
  );
  assert.equal(slow.cause, timeout);
  const refused = unreachableError(new Error('connect to https://u:hunter2@h/ refused'), call, 'https://h', 1);
  assert.match(refused.message, /\(h\): connect to https:\/\/\*\*\*@h\/ refused$/);
  assert.doesNotMatch(slow.message + refused.message, /hunter2/);
});
