// The key partitioner (src/kafka/partitioner.ts) against kafkajs's Java-compatible DefaultPartitioner.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { partitionForKey } from '../src/kafka/partitioner.ts';

describe('partitioner', () => {
  test("equals kafkajs's Java-compatible DefaultPartitioner on random byte, ASCII and non-ASCII keys of every length", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    let compared = 0;
    for (const count of [1, 6, 7, 100]) {
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 2000; i++) {
        const bytes = randomBytes(i % 70);
        const text = bytes.toString('base64').slice(0, i % 90);
        // Bytes, ASCII text (hashed from its char codes) and non-ASCII text (hashed from its UTF-8).
        for (const key of [bytes, text, `${text}ü€`, `${text}\u007f`]) {
          const theirs = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
          assert.equal(partitionForKey(key, count), theirs, `key ${JSON.stringify(key)} over ${count} partitions`);
          compared++;
        }
      }
    }
    assert.equal(compared, 32_000);
  });
});
