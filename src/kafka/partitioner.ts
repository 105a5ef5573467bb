// Partition choice equal to the Java client's default for keyed records:
// toPositive(murmur2(keyBytes)) % partitionCount, with Kafka's murmur2 (MurmurHash2, 32-bit,
// seed 0x9747b28c). Computed here, once per record, so the engine knows each record's partition
// up front and every backend writes where the Java client would. kafkajs's own implementation
// computes the same hash with its 64-bit Long class at about 4 µs a key; 32-bit Math.imul
// arithmetic is the Java code's own and costs a tenth of that. test/engine.test.ts checks it
// against Kafka's Java code, test/kafka-partitioner.test.ts against kafkajs's.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of `data` (Utils.murmur2 in the Java client), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const scratch = Buffer.allocUnsafe(256);

export function partitionForKey(key: string | Buffer, partitionCount: number): number {
  let bytes: Uint8Array;
  if (typeof key !== 'string') bytes = key;
  else if (key.length <= 64)
    bytes = scratch.subarray(0, scratch.write(key, 'utf8')); // ≤ 4 bytes a char
  else bytes = Buffer.from(key, 'utf8');
  // Java's toPositive: clear the sign bit.
  return (murmur2(bytes) & 0x7fffffff) % partitionCount;
}
