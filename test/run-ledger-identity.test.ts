// A run's identity (src/run-ledger/identity.ts): its ledger key, transactional id and order-id block.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_EVENTS_PER_RUN,
  legacyKey,
  orderIdBase,
  runKey,
  runTransactionalId,
  type RunIdentity,
} from '../src/run-ledger/index.ts';

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
    ['another slot', { ...scheduled, nominalTimeMs: at + 300_000 }],
  ];

  test('the key and the transactional id hold the whole identity and nothing else', () => {
    assert.equal(runKey(scheduled), 'v2|order-events|2026-11-28T09:05:00.000Z|schedule:produce-order-events');
    assert.equal(runTransactionalId(scheduled), `order-events-producer|${runKey(scheduled)}`);
    assert.equal(legacyKey(at), '2026-11-28T09:05:00.000Z');
  });

  for (const [what, other] of variants) {
    test(`${what} is another run: another key, transactional id and order ids`, () => {
      assert.notEqual(runKey(other), runKey(scheduled));
      assert.notEqual(runTransactionalId(other), runTransactionalId(scheduled));
      assert.notEqual(orderIdBase(other), orderIdBase(scheduled));
    });
  }

  test('order ids stay within 2^53 - 1 (exact in JavaScript and JSON), the same for every attempt of a run', () => {
    for (const t of [Date.parse('2024-01-01T00:00:00Z'), at, Date.parse('2058-01-19T00:00:00Z'), 0, 8.64e15]) {
      for (let i = 0; i < 200; i++) {
        const base = orderIdBase({ ...scheduled, origin: { workflow: `wf-${i}` }, nominalTimeMs: t });
        assert.ok(base >= 0n && base + BigInt(MAX_EVENTS_PER_RUN) - 1n <= BigInt(Number.MAX_SAFE_INTEGER), `${base}`);
      }
    }
    assert.equal(orderIdBase({ ...scheduled }), orderIdBase(scheduled));
  });

  test("a schedule's runs never share an order id: 10 years of 5-minute slots hold disjoint ranges of a million ids", () => {
    let previous = -1n;
    for (let slot = at; slot < at + 10 * 365.25 * 86_400_000; slot += 300_000) {
      const base = orderIdBase({ ...scheduled, nominalTimeMs: slot });
      assert.ok(base > previous, `slot ${new Date(slot).toISOString()} overlaps the one before`);
      previous = base + BigInt(MAX_EVENTS_PER_RUN) - 1n;
    }
  });
});
