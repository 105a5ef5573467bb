// Avro `long` as a full 64-bit integer. avsc's default long is a JS number, exact only to 2^53;
// run-derived order ids need the whole range. Values up to 2^53 decode as numbers, larger
// ones as bigint; both encode.
import avro from 'avsc';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));
const toNumberIfSafe = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

export const Int64Type = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => toNumberIfSafe(buf.readBigInt64LE(0)),
  toBuffer: (v: number | bigint) => {
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64LE(toBig(v), 0);
    return buf;
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
