// The run ledger's record (src/run-ledger/record.ts): encode, decode, and refusal of a malformed record.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LedgerError } from '../src/errors.ts';
import { decodeLedgerRecord, encodeLedgerRecord, runKey, type LedgerRecord } from '../src/run-ledger/index.ts';

describe('run ledger records', () => {
  const key = runKey({
    topic: 'order-events',
    origin: { schedule: 'produce-order-events' },
    nominalTimeMs: Date.parse('2026-11-28T09:05:00Z'),
  });
  const record: LedgerRecord = {
    version: 2,
    key,
    origin: 'schedule:produce-order-events',
    nominalTime: '2026-11-28T09:05:00.000Z',
    params: { eventCount: 10 },
    ledgerPartitions: 6,
    workflowId: 'produce-order-events-2026-11-28T09:05:00Z',
    runId: 'r',
    attempt: 2,
    topic: 'order-events',
    acknowledged: 10,
    deadLettered: 0,
    dlqTopic: 'order-events.dlq',
    partitions: [{ partition: 0, firstOffset: 4, lastOffset: null, count: 10 }],
    schemaId: 1,
    durationMs: 12,
    firstOrderId: '1',
    lastOrderId: '10',
    committedAt: '2026-11-28T09:05:01.000Z',
  };

  test('round trip, and a record that does not match is a LedgerError naming the run and field', () => {
    assert.deepEqual(decodeLedgerRecord(key, encodeLedgerRecord(record)), record);
    assert.throws(
      () => decodeLedgerRecord(key, Buffer.from('nope')),
      (e: Error) => e instanceof LedgerError && /not JSON/.test(e.message),
    );
    const bad = Buffer.from(JSON.stringify({ ...record, acknowledged: -1 }));
    assert.throws(
      () => decodeLedgerRecord(key, bad),
      (e: Error) => e instanceof LedgerError && e.message.includes(`record for ${key} is malformed (acknowledged:`),
    );
    assert.throws(() => decodeLedgerRecord('v2|other', encodeLedgerRecord(record)), /names another run/);
  });

  test("an earlier release's record (keyed by slot time) still decodes", () => {
    const { version, key: _k, origin, nominalTime, params, ledgerPartitions, ...rest } = record;
    void [version, _k, origin, nominalTime, params, ledgerPartitions];
    const legacy = { ...rest, slot: '2026-11-28T09:05:00.000Z' };
    assert.deepEqual(decodeLedgerRecord(legacy.slot, Buffer.from(JSON.stringify(legacy))), legacy);
  });
});
