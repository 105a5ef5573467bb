// A cursor source's position record (src/run-ledger/position.ts): its key and transactional id,
// the record a run writes, and refusal of a record that is not JSON, malformed or names another key.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LedgerError } from '../src/errors.ts';
import {
  decodePositionRecord,
  encodePositionRecord,
  positionKey,
  positionRecord,
  sourceTransactionalId,
  type PositionRun,
} from '../src/run-ledger/position.ts';
import type { RunReport } from '../src/run-ledger/record.ts';
import { runKey } from '../src/run-ledger/identity.ts';

describe('position records', () => {
  const key = positionKey('order-events', 'outbox:order_outbox');
  const run: PositionRun = {
    source: 'outbox:order_outbox',
    from: '{"lsn":"0/10"}',
    to: '{"lsn":"0/20"}',
    maxEvents: 500,
    workflowId: 'produce-order-events-2026-11-28T09:05:00Z',
    runId: 'r1',
    attempt: 1,
    nominalTime: '2026-11-28T09:05:00.000Z',
  };
  const report: RunReport = {
    topic: 'order-events',
    acknowledged: 3,
    deadLettered: 1,
    dlqTopic: 'order-events.dlq',
    partitions: [{ partition: 2, firstOffset: 10, lastOffset: 12, count: 3 }],
    schemaId: 4,
    durationMs: 7,
  };
  const record = positionRecord(key, 6, run, report, '2026-11-28T09:05:01.000Z');

  test('the key is src|<topic>|<source>, one per topic and source, never a run key; the fence is the source', () => {
    assert.equal(key, 'src|order-events|outbox:order_outbox');
    assert.equal(sourceTransactionalId('order-events', 'outbox:order_outbox'), `order-events-producer|${key}`);
    assert.notEqual(positionKey('order-events-staging', 'outbox:order_outbox'), key);
    assert.notEqual(positionKey('order-events', 'outbox:other'), key);
    const aRun = runKey({ topic: 'order-events', origin: { schedule: 'outbox:order_outbox' }, nominalTimeMs: 0 });
    assert.ok(!aRun.startsWith('src|'), aRun);
  });

  test('a record holds the run, the report and the ledger partition count, and round-trips', () => {
    assert.deepEqual(record, {
      version: 3,
      key,
      ledgerPartitions: 6,
      ...run,
      ...report,
      committedAt: '2026-11-28T09:05:01.000Z',
    });
    assert.deepEqual(decodePositionRecord(key, encodePositionRecord(record)), record);
  });

  test("a source's first run (from null) and `outbox adopt-slot`'s record (maxEvents 0, nothing sent) are valid", () => {
    const adopted = positionRecord(
      key,
      1,
      { ...run, from: null, maxEvents: 0 },
      { ...report, acknowledged: 0, partitions: [] },
      'x',
    );
    assert.deepEqual(decodePositionRecord(key, encodePositionRecord(adopted)), adopted);
    const fromStart = positionRecord(key, 1, { ...run, from: null, to: null }, report, 'x');
    assert.equal(decodePositionRecord(key, encodePositionRecord(fromStart)).to, null);
  });

  test('encoding refuses a record the schema does not accept (never writes what could not be read back)', () => {
    assert.throws(() => encodePositionRecord({ ...record, attempt: 0 }), /attempt/);
    assert.throws(() => encodePositionRecord({ ...record, ledgerPartitions: 0 }), /ledgerPartitions/);
  });

  test('a stored value that is not JSON, is malformed or names another key is a LedgerError saying which', () => {
    assert.throws(
      () => decodePositionRecord(key, Buffer.from('{nope')),
      (e: Error) => e instanceof LedgerError && e.message === `the run ledger's position record ${key} is not JSON`,
    );
    const malformed = Buffer.from(JSON.stringify({ ...record, maxEvents: -1 }));
    assert.throws(
      () => decodePositionRecord(key, malformed),
      (e: Error) => e instanceof LedgerError && e.message.includes(`position record ${key} is malformed (maxEvents:`),
    );
    const earlier = Buffer.from(JSON.stringify({ ...record, version: 2 }));
    assert.throws(
      () => decodePositionRecord(key, earlier),
      (e: Error) => e instanceof LedgerError && /malformed \(version:/.test(e.message),
    );
    const other = positionKey('order-events', 'outbox:other');
    assert.throws(
      () => decodePositionRecord(other, encodePositionRecord(record)),
      (e: Error) => e instanceof LedgerError && e.message === `the position record under ${other} names ${key}`,
    );
  });
});
