// A run's identity (src/run-ledger/identity.ts): its ledger key, transactional id and order-id block.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { legacyKey, orderIdBase, runKey, runTransactionalId, type RunIdentity } from '../src/run-ledger/index.ts';

describe('run identity', () => {
  const at = Date.parse('2026-11-28T09:05:00Z');
  const scheduled: RunIdentity = {
    topic: 'order-events',
    origin: { schedule: 'produce-order-events' },
    nominalTimeMs: at,
  };
  const variants: [string, RunIdentity][] = [
    ['another topic', { ...scheduled, topic: 'order-events-staging' }],
    ['another schedule', { ...scheduled, origin: { schedule: 'hourly' } }],
    ['a manual run', { ...scheduled, origin: { workflow: 'produce-order-events' } }],
    ['another slot', { ...scheduled, nominalTimeMs: at + 1 }],
  ];

  test('the key and the transactional id hold the whole identity and nothing else', () => {
    assert.equal(runKey(scheduled), 'v2|order-events|2026-11-28T09:05:00.000Z|schedule:produce-order-events');
    assert.equal(runTransactionalId(scheduled), `order-events-producer|${runKey(scheduled)}`);
    assert.equal(legacyKey(at), '2026-11-28T09:05:00.000Z');
  });

  for (const [what, other] of variants) {
    test(`${what} is another run: another key, transactional id and order-id block`, () => {
      assert.notEqual(runKey(other), runKey(scheduled));
      assert.notEqual(runTransactionalId(other), runTransactionalId(scheduled));
      const [a, b] = [orderIdBase(scheduled), orderIdBase(other)];
      assert.ok(a + 1_048_575n < b || b + 1_048_575n < a, 'the two runs hold disjoint order ids');
    });
  }

  test('order ids are positive Avro longs, the same for every attempt of a run', () => {
    for (let i = 0; i < 1000; i++) {
      const base = orderIdBase({ ...scheduled, nominalTimeMs: at + i * 300_000 });
      assert.ok(base >= 0n && base + 1_048_575n < 2n ** 63n);
      assert.equal(base % 1_048_576n, 0n);
    }
    assert.equal(orderIdBase({ ...scheduled }), orderIdBase(scheduled));
  });
});
