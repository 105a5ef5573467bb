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

/**
 * murmur2 of a string's UTF-8 bytes read straight from its char codes, or undefined when a char is
 * not ASCII (its UTF-8 bytes differ from its code). Order ids are digits: no buffer, no copy.
 */
function murmur2Ascii(key: string): number | undefined {
  const length = key.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  let high = 0; // any char code ≥ 0x80 sets a bit here
  for (let i = 0; i < whole; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const c = key.charCodeAt(i + 2);
    const d = key.charCodeAt(i + 3);
    high |= a | b | c | d;
    let k = a | (b << 8) | (c << 16) | (d << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= key.charCodeAt(whole + 2) << 16;
  if (tail >= 2) h ^= key.charCodeAt(whole + 1) << 8;
  if (tail >= 1) h = Math.imul(h ^ key.charCodeAt(whole), M);
  for (let i = whole; i < length; i++) high |= key.charCodeAt(i);
  if (high >= 0x80) return undefined;
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: string | Buffer, partitionCount: number): number {
  const hash = typeof key === 'string' ? (murmur2Ascii(key) ?? murmur2(Buffer.from(key, 'utf8'))) : murmur2(key);
  // Java's toPositive: clear the sign bit.
  return (hash & 0x7fffffff) % partitionCount;
}
