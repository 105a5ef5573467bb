// Validation of a value against an Avro schema (src/schema/validate.ts): every bad field path and why.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ORDER_EVENT_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';
import { validate } from '../src/schema/validate.ts';

describe('OrderEvent schema', () => {
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
});
