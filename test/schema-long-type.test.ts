// Avro long as a full 64-bit integer (src/schema/long-type.ts): numbers up to 2^53 and bigints beyond
// both encode, decode as number when exact and bigint otherwise, and the bytes are Avro's long.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { Int64Type } from '../src/schema/long-type.ts';

const long = avro.Type.forSchema('long', { registry: { long: Int64Type } });

/** Avro's long encoding written out: zig-zag, then a base-128 varint, low group first. */
function avroLong(n: bigint): Buffer {
  let z = n >= 0n ? n * 2n : -n * 2n - 1n;
  const bytes: number[] = [];
  do {
    const low = Number(z & 0x7fn);
    z >>= 7n;
    bytes.push(z > 0n ? low | 0x80 : low);
  } while (z > 0n);
  return Buffer.from(bytes);
}
const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

test("the bytes are Avro's zig-zag varint long, on both sides of the 2^47 fast path and up to 64 bits", () => {
  const numbers = [0, 1, -1, 63, -64, 2 ** 47 - 1, 2 ** 47, -(2 ** 47) + 1, -(2 ** 47), 1_764_000_000_000];
  for (const n of [...numbers, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    assert.deepEqual(long.toBuffer(n), avroLong(BigInt(n)), String(n));
    assert.equal(long.fromBuffer(long.toBuffer(n)), n);
  }
  for (const n of [MAX, MIN, 2n ** 53n]) assert.deepEqual(long.toBuffer(n), avroLong(n), String(n));
  assert.deepEqual(avroLong(MAX), Buffer.from('feffffffffffffffff01', 'hex'), 'the helper itself');
});

test('values past 2^53 round-trip as bigints; exact values decode as numbers whatever their type', () => {
  for (const big of [MAX, MIN, 2n ** 53n, -(2n ** 53n) - 5n]) {
    assert.equal(long.fromBuffer(long.toBuffer(big)), big);
  }
  assert.equal(long.fromBuffer(long.toBuffer(42n)), 42);
  assert.equal(long.fromBuffer(long.toBuffer(2n ** 53n - 1n)), Number.MAX_SAFE_INTEGER);
});

test('only exact integers within 64 bits are valid', () => {
  for (const ok of [0, -7, Number.MAX_SAFE_INTEGER, MAX, MIN]) assert.equal(long.isValid(ok), true, String(ok));
  for (const bad of [2 ** 53, 1.5, NaN, MAX + 1n, MIN - 1n, '1', null])
    assert.equal(long.isValid(bad), false, String(bad));
});

test('JSON: a bigint is a decimal string, read back as bigint or number; compare mixes both', () => {
  assert.equal(long.toString(MAX), '"9223372036854775807"');
  assert.equal(long.fromString('"9223372036854775807"'), MAX);
  assert.equal(long.fromString('"12"'), 12);
  assert.equal(long.fromString('12'), 12);
  assert.equal(long.compare(2n ** 60n, 5), 1);
  assert.equal(long.compare(5, 5n), 0);
  assert.equal(long.compare(-1, 0n), -1);
});
