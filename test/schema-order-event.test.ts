// The OrderEvent Avro schema (src/schema/order-event.ts, schemas/*.avsc) and its TypeScript type in step.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ORDER_EVENT_SCHEMA_FILE, ORDER_STATUSES, loadSchema, type OrderEvent } from '../src/schema/order-event.ts';
import { validate } from '../src/schema/validate.ts';
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
});
