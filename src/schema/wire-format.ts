// Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the
// Avro binary body.
import type avro from 'avsc';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export function encodeWireFormat(schemaId: number, type: avro.Type, value: unknown): Buffer {
  const body = type.toBuffer(value);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

export function readWireFormat(buffer: Buffer): { schemaId: number; body: Buffer } {
  if (buffer.length < HEADER_BYTES || buffer.readUInt8(0) !== MAGIC_BYTE) {
    throw new Error('not in the Confluent wire format (magic byte 0 + 4-byte schema id)');
  }
  return { schemaId: buffer.readUInt32BE(1), body: buffer.subarray(HEADER_BYTES) };
}
