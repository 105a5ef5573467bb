// The ledger topic (src/run-ledger/topic.ts): its settings, the partition a key lives on (the Java
// client's, checked against Kafka's own murmur2 test vectors) and the topics the producer needs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ledgerPartitionOf, ledgerTopicConfig, producerTopics } from '../src/run-ledger/topic.ts';

/** Kafka's UtilsTest.testMurmur2: the Java client's murmur2 of these keys. */
const JAVA_MURMUR2: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

describe('ledger topic', () => {
  test('compacted by key and deleted after the retention asked for', () => {
    assert.deepEqual(ledgerTopicConfig(7 * 86_400_000), [
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'retention.ms', value: '604800000' },
    ]);
    assert.equal(ledgerTopicConfig(-1)[1]!.value, '-1');
  });

  test("a key's partition is the Java client's: toPositive(murmur2(key)) % partitions", () => {
    for (const partitions of [1, 6, 7, 50]) {
      for (const [key, hash] of JAVA_MURMUR2) {
        assert.equal(ledgerPartitionOf(key, partitions), (hash & 0x7fffffff) % partitions, `${key} over ${partitions}`);
      }
    }
  });

  test('a run key lands on one partition in range, and which one depends on the partition count', () => {
    const at = Date.parse('2026-11-28T09:00:00Z');
    const keys = Array.from(
      { length: 200 },
      (_, i) => `v2|order-events|${new Date(at + i * 300_000).toISOString()}|schedule:s`,
    );
    for (const key of keys) {
      const p = ledgerPartitionOf(key, 6);
      assert.ok(Number.isInteger(p) && p >= 0 && p < 6, `${key} -> ${p}`);
      assert.equal(ledgerPartitionOf(key, 6), p);
    }
    // Why the ledger must keep its partition count: a changed count moves keys.
    assert.ok(keys.some((key) => ledgerPartitionOf(key, 6) !== ledgerPartitionOf(key, 7)));
    assert.equal(new Set(keys.map((key) => ledgerPartitionOf(key, 6))).size, 6, 'keys spread over every partition');
  });

  test('the producer needs the events topic, its dead-letter topic and the ledger, which alone keeps its partitions', () => {
    const kafka = {
      ...loadConfig({}).kafka,
      topic: 'events',
      dlqTopic: 'events.dlq',
      runsTopic: 'events.runs',
      topicPartitions: 12,
      runsPartitions: 3,
      topicReplicationFactor: 2,
      runsRetentionMs: 86_400_000,
    };
    assert.deepEqual(producerTopics(kafka), [
      { topic: 'events', partitions: 12, replicationFactor: 2 },
      { topic: 'events.dlq', partitions: 12, replicationFactor: 2 },
      {
        topic: 'events.runs',
        partitions: 3,
        replicationFactor: 2,
        configEntries: ledgerTopicConfig(86_400_000),
        keepsPartitions: true,
      },
    ]);
  });
});
