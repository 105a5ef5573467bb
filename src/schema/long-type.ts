// Avro `long` as a full 64-bit integer. avsc's default long is a JS number, exact only to 2^53;
// run-derived order ids need the whole range. Values up to 2^53 decode as numbers, larger
// ones as bigint; both encode.
import avro from 'avsc';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;
const SIX_BYTES = 2 ** 47;
const scratch = Buffer.allocUnsafe(8);

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));
const toNumberIfSafe = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

export const Int64Type = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => toNumberIfSafe(buf.readBigInt64LE(0)),
  // avsc reads (and may invert) these 8 bytes at once, so one scratch buffer serves every call.
  // Numbers below 2^47 (timestamps, most ids) skip the BigInt conversion.
  toBuffer: (v: number | bigint) => {
    if (typeof v === 'number' && v > -SIX_BYTES && v < SIX_BYTES) {
      scratch.writeIntLE(v, 0, 6);
      scratch.fill(v < 0 ? 0xff : 0, 6);
    } else {
      scratch.writeBigInt64LE(toBig(v), 0);
    }
    return scratch;
  },
  fromJSON: (v: unknown) => (typeof v === 'string' ? toNumberIfSafe(BigInt(v)) : v),
  toJSON: (v: number | bigint) => (typeof v === 'bigint' ? v.toString() : v),
  isValid: (v: unknown) =>
    (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'bigint' && v >= MIN && v <= MAX),
  compare: (a: number | bigint, b: number | bigint) => {
    const x = toBig(a);
    const y = toBig(b);
    return x === y ? 0 : x < y ? -1 : 1;
  },
});
