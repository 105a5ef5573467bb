// What the records a ledger check read mean for its run (src/run-ledger/match.ts): which record is
// the run's (its own, or an earlier release's that was this run's), refusal of a changed request,
// and refusal of order ids another run in the same second already holds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LedgerError, RunRequestChangedError } from '../src/errors.ts';
import {
  encodeLedgerRecord,
  legacyKey,
  orderIdBase,
  runKey,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunIdentity,
} from '../src/run-ledger/index.ts';
import { createBlockOwners, recordOfRun, refuseChangedRequest } from '../src/run-ledger/match.ts';
import type { LedgerEntry } from '../src/run-ledger/reader.ts';

const at = Date.parse('2026-11-28T09:05:00Z');
const scheduled: RunIdentity = {
  topic: 'order-events',
  origin: { schedule: 'produce-order-events' },
  nominalTimeMs: at,
};
const manual: RunIdentity = { ...scheduled, origin: { workflow: 'manual-1' } };

function v2Record(id: RunIdentity, extra: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    version: 2,
    key: runKey(id),
    origin: 'schedule:produce-order-events',
    nominalTime: '2026-11-28T09:05:00.000Z',
    params: { eventCount: 10 },
    ledgerPartitions: 1,
    workflowId: 'produce-order-events-2026-11-28T09:05:00Z',
    runId: 'r',
    attempt: 1,
    topic: id.topic,
    acknowledged: 10,
    deadLettered: 0,
    dlqTopic: 'order-events.dlq',
    partitions: [{ partition: 0, firstOffset: 0, lastOffset: 9, count: 10 }],
    schemaId: 1,
    durationMs: 5,
    firstOrderId: '100',
    lastOrderId: '109',
    committedAt: '2026-11-28T09:05:01.000Z',
    ...extra,
  };
}

/** An earlier release's record of the slot: keyed by its time, its workflow id `<schedule>-<slot to the second>`. */
function legacyRecord(extra: Partial<LegacyLedgerRecord> = {}): LegacyLedgerRecord {
  const { version, key, origin, nominalTime, params, ledgerPartitions, ...rest } = v2Record(scheduled);
  void [version, key, origin, nominalTime, params, ledgerPartitions];
  return { ...rest, slot: legacyKey(at), ...extra };
}

const entry = (value: object | string | null, partition = 0): LedgerEntry => ({
  partition,
  offset: 0n,
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
});

describe("the run's record", () => {
  const key = runKey(scheduled);
  const legacy = legacyKey(at);

  test('is the record under its key; none, or a tombstone, is no record', () => {
    const record = v2Record(scheduled);
    assert.deepEqual(recordOfRun(scheduled, key, legacy, new Map([[key, entry(record)]])), record);
    assert.equal(recordOfRun(scheduled, key, legacy, new Map()), undefined);
    assert.equal(recordOfRun(scheduled, key, legacy, new Map([[key, entry(null)]])), undefined);
  });

  test('a record under its key that cannot be read is a LedgerError, never "not produced"', () => {
    assert.throws(() => recordOfRun(scheduled, key, undefined, new Map([[key, entry('{')]])), LedgerError);
    const other = v2Record({ ...scheduled, topic: 'elsewhere' });
    assert.throws(() => recordOfRun(scheduled, key, undefined, new Map([[key, entry(other)]])), /names another run/);
  });

  test("an earlier release's record answers only for the run it was: same topic, and same schedule or workflow", () => {
    const found = (r: LegacyLedgerRecord) => new Map([[legacy, entry(r)]]);
    const mine = legacyRecord();
    assert.deepEqual(recordOfRun(scheduled, key, legacy, found(mine)), mine);
    assert.equal(
      recordOfRun(scheduled, key, legacy, found(legacyRecord({ workflowId: 'hourly-2026-11-28T09:05:00Z' }))),
      undefined,
    );
    assert.equal(recordOfRun(scheduled, key, legacy, found(legacyRecord({ topic: 'other-events' }))), undefined);
    assert.equal(recordOfRun(manual, runKey(manual), legacy, found(mine)), undefined);
    const byHand = legacyRecord({ workflowId: 'manual-1' });
    assert.deepEqual(recordOfRun(manual, runKey(manual), legacy, found(byHand)), byHand);
  });

  test('the legacy key is read only when asked for (one-partition ledgers), and the v2 record comes first', () => {
    const mine = legacyRecord();
    assert.equal(recordOfRun(scheduled, key, undefined, new Map([[legacy, entry(mine)]])), undefined);
    const record = v2Record(scheduled);
    const both = new Map([
      [legacy, entry(mine)],
      [key, entry(record)],
    ]);
    assert.deepEqual(recordOfRun(scheduled, key, legacy, both), record);
  });
});

describe('a changed request', () => {
  test('the same request passes; another is a RunRequestChangedError naming the run, both requests and the producer', () => {
    const record = v2Record(scheduled);
    refuseChangedRequest(scheduled, record, { eventCount: 10 });
    assert.throws(
      () => refuseChangedRequest(scheduled, record, { eventCount: 12 }),
      (e: Error) =>
        e instanceof RunRequestChangedError &&
        e.message.startsWith(
          'schedule produce-order-events, slot 2026-11-28T09:05:00.000Z, topic order-events was already produced with ' +
            '{"eventCount":10} (by produce-order-events-2026-11-28T09:05:00Z, 2026-11-28T09:05:01.000Z); ' +
            'this run asks for {"eventCount":12}',
        ),
    );
  });

  test("an earlier release's record asked for as many events as its order ids", () => {
    const record = legacyRecord({ firstOrderId: '100', lastOrderId: '106' });
    refuseChangedRequest(scheduled, record, { eventCount: 7 });
    assert.throws(() => refuseChangedRequest(scheduled, record, { eventCount: 10 }), RunRequestChangedError);
  });
});

describe('order-id blocks', () => {
  const key = runKey(scheduled);
  const base = orderIdBase(scheduled);
  const held = (first: bigint, last: bigint, extra: Partial<LedgerRecord> = {}) =>
    encodeLedgerRecord(v2Record(manual, { firstOrderId: String(first), lastOrderId: String(last), ...extra }));

  test("another run's range in the same second is refused only where it overlaps, naming both ranges and its key", () => {
    const blocks = createBlockOwners();
    blocks.checkFree(scheduled, key, 10);
    blocks.saw(runKey(manual), held(base + 5n, base + 10n));
    blocks.checkFree(scheduled, key, 5); // base … base+4
    assert.throws(
      () => blocks.checkFree(scheduled, key, 6), // base … base+5
      (e: Error) =>
        e instanceof LedgerError &&
        e.message.includes(`(${base} … ${base + 5n}) overlap ids ${base + 5n} … ${base + 10n}`) &&
        e.message.includes(`already held by ${runKey(manual)}`),
    );
  });

  test("the run's own record, another topic's ids, tombstones and records without ids hold nothing against it", () => {
    const blocks = createBlockOwners();
    blocks.saw(key, held(base, base + 9n));
    blocks.saw('v2|other-events|x', held(base, base + 9n, { topic: 'other-events' }));
    blocks.saw('v2|order-events|tombstone', null);
    blocks.saw('v2|order-events|garbage', Buffer.from('not json'));
    blocks.saw('v2|order-events|no-ids', Buffer.from(JSON.stringify({ topic: 'order-events', firstOrderId: 1 })));
    blocks.checkFree(scheduled, key, 10);
  });

  test('a count of 0 still claims the first id, and a range across two seconds is held in both', () => {
    const blocks = createBlockOwners();
    blocks.saw(runKey(manual), held(base, base));
    assert.throws(() => blocks.checkFree(scheduled, key, 0), LedgerError);

    const spanning = createBlockOwners();
    const secondStart = (base >> 23n) << 23n;
    spanning.saw(runKey(manual), held(secondStart - 1n, base));
    assert.throws(() => spanning.checkFree(scheduled, key, 1), LedgerError);
  });
});
