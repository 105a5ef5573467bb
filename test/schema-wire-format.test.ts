// The Confluent wire format (src/schema/wire-format.ts): magic byte, schema id, Avro body, and back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORDER_EVENT_SCHEMA_FILE, loadSchema, type OrderEvent } from '../src/schema/order-event.ts';
import { encodeWireFormat, readWireFormat } from '../src/schema/wire-format.ts';
import { sampleEvents } from './fixtures/events.ts';

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
