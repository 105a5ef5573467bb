// Decodes Confluent wire-format values with the writer schema the registry holds for their id
// (fetched once per id), longs as full 64-bit integers.
import avro from 'avsc';
import { Int64Type } from './long-type.ts';
import type { RegistryClient } from './registry-client.ts';
import { readWireFormat } from './wire-format.ts';

interface Decoded<T> {
  schemaId: number;
  value: T;
}

export function createDecoder(registry: Pick<RegistryClient, 'schemaById'>) {
  const types = new Map<number, Promise<avro.Type>>();
  const typeFor = (id: number): Promise<avro.Type> => {
    let type = types.get(id);
    if (!type) {
      type = registry
        .schemaById(id)
        .then((text) => avro.Type.forSchema(JSON.parse(text) as avro.Schema, { registry: { long: Int64Type } }));
      types.set(id, type);
      type.catch(() => types.delete(id));
    }
    return type;
  };
  return async function decode<T>(buffer: Buffer | null): Promise<Decoded<T>> {
    const { schemaId, body } = readWireFormat(buffer ?? Buffer.alloc(0));
    return { schemaId, value: (await typeFor(schemaId)).fromBuffer(body) as T };
  };
}
