// The dead-letter envelope (src/dlq/envelope.ts) is valid under its own Avro schema.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeadLetterReason, deadLetter } from '../src/dlq/envelope.ts';
import { DEAD_LETTER_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';
import { validate } from '../src/schema/validate.ts';

describe('OrderEvent schema', () => {
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
