// Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the
// Avro binary body.
import type avro from 'avsc';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
const SLAB_BYTES = 64 * 1024;

let slab = Buffer.allocUnsafe(SLAB_BYTES);
let used = 0;

/**
 * The record's wire-format bytes. Encoded straight into a shared slab and returned as a view of
 * it (no per-record allocation or copy); a full slab is left to the records that view it and a
 * new one started. A record larger than a slab gets a buffer of its own.
 */
export function encodeWireFormat(schemaId: number, type: avro.Type, value: unknown): Buffer {
  for (let attempt = 0; attempt < 2; attempt++) {
    const start = used;
    const end = type.encode(value, slab, start + HEADER_BYTES);
    if (end > 0) {
      slab.writeUInt8(MAGIC_BYTE, start);
      slab.writeUInt32BE(schemaId, start + 1);
      used = end;
      return slab.subarray(start, end);
    }
    // It did not fit (avsc returns minus the bytes missing): start a new slab and try once more.
    slab = Buffer.allocUnsafe(SLAB_BYTES);
    used = 0;
  }
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
