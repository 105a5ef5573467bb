// The wire-format decoder (src/schema/decoder.ts) over a fake registry: the writer schema fetched once
// per id (a failed fetch is not remembered), longs past 2^53 as bigints, other bytes refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { createDecoder } from '../src/schema/decoder.ts';
import { Int64Type } from '../src/schema/long-type.ts';
import { encodeWireFormat } from '../src/schema/wire-format.ts';

const schemas: Record<number, object> = {
  1: { type: 'record', name: 'A', fields: [{ name: 'id', type: 'long' }] },
  2: { type: 'record', name: 'B', fields: [{ name: 'name', type: 'string' }] },
};
const typeOf = (id: number) => avro.Type.forSchema(schemas[id] as avro.Schema, { registry: { long: Int64Type } });

function fakeRegistry(failFirst = false) {
  const asked: number[] = [];
  return {
    asked,
    registry: {
      schemaById: async (id: number) => {
        asked.push(id);
        if (failFirst && asked.length === 1) throw new Error('registry unreachable');
        return JSON.stringify(schemas[id]);
      },
    },
  };
}

test('values decode with the schema of their id, each schema fetched once (concurrent decodes share it)', async () => {
  const { registry, asked } = fakeRegistry();
  const decode = createDecoder(registry);
  const a = encodeWireFormat(1, typeOf(1), { id: 2n ** 62n });
  const b = encodeWireFormat(2, typeOf(2), { name: 'x' });
  const [first, second] = await Promise.all([decode<{ id: bigint }>(a), decode(a)]);
  assert.equal(first.schemaId, 1);
  assert.equal(first.value.id, 2n ** 62n);
  assert.deepEqual({ ...(second.value as object) }, { id: 2n ** 62n });
  assert.deepEqual({ ...(await decode<object>(b)).value }, { name: 'x' });
  await decode(b);
  assert.deepEqual(asked, [1, 2]);
});

test('a failed fetch fails that decode and is asked again next time', async () => {
  const { registry, asked } = fakeRegistry(true);
  const decode = createDecoder(registry);
  const value = encodeWireFormat(2, typeOf(2), { name: 'y' });
  await assert.rejects(decode(value), /registry unreachable/);
  assert.deepEqual({ ...(await decode<object>(value)).value }, { name: 'y' });
  assert.deepEqual(asked, [2, 2]);
});

test('null, short or non-wire-format bytes are refused without asking the registry', async () => {
  const { registry, asked } = fakeRegistry();
  const decode = createDecoder(registry);
  for (const bytes of [null, Buffer.from([0, 0, 1]), Buffer.from('{"id":1}')]) {
    await assert.rejects(decode(bytes), /not in the Confluent wire format/);
  }
  assert.deepEqual(asked, []);
});
