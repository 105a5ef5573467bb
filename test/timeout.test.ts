// withTimeout (src/timeout.ts): a retryable error naming the operation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransientError } from '../src/errors.ts';
import { withTimeout } from '../src/timeout.ts';

test('withTimeout rejects with a retryable error naming the operation', async () => {
  await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'waiting for Godot'), (err: Error) => {
    assert.ok(err instanceof TransientError);
    assert.equal(err.name, 'OperationTimeoutError');
    assert.equal(err.message, 'waiting for Godot did not finish within 20 ms');
    return true;
  });
});
