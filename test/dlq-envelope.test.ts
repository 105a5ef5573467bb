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

  test('a failure naming thousands of fields keeps its dead letter small: message and paths bounded, the count said', () => {
    const paths = Array.from({ length: 30_000 }, (_, i) => `unknown_field_${i}`);
    const dl = deadLetter(
      {},
      { reason: DeadLetterReason.invalid, message: paths.join(', '), fieldPaths: paths },
      't',
      0,
    );
    assert.ok(dl.error_message.length < 4200, String(dl.error_message.length));
    assert.match(dl.error_message, /… \(\d+ more characters\)$/);
    assert.equal(dl.field_paths.length, 101);
    assert.equal(dl.field_paths[0], 'unknown_field_0');
    assert.equal(dl.field_paths[100], '… 29900 more');
    const long = deadLetter(
      {},
      { reason: DeadLetterReason.invalid, message: 'm', fieldPaths: ['x'.repeat(1000)] },
      't',
      0,
    );
    assert.ok(long.field_paths[0]!.length < 300);
    const small = deadLetter({}, { reason: DeadLetterReason.invalid, message: 'm', fieldPaths: ['a', 'b'] }, 't', 0);
    assert.deepEqual([small.error_message, small.field_paths], ['m', ['a', 'b']]);
  });
});
