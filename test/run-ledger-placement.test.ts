// The ledger's placement check (src/run-ledger/placement.ts): every record read must sit on the
// partition its key belongs on under today's partition count; once one does not, every check fails.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LedgerError } from '../src/errors.ts';
import { createPlacementCheck } from '../src/run-ledger/placement.ts';
import { ledgerPartitionOf } from '../src/run-ledger/topic.ts';

const keys = Array.from({ length: 50 }, (_, i) => `v2|order-events|2026-11-28T09:05:00.000Z|workflow:wf-${i}`);
/** A key whose partition differs between 6 and 7 partitions (the ledger grew). */
const moved = keys.find((k) => ledgerPartitionOf(k, 6) !== ledgerPartitionOf(k, 7))!;

describe('placement check', () => {
  test('nothing read, or every record where its key belongs, passes (again and again)', () => {
    const check = createPlacementCheck('order-events.runs');
    check.verify(6);
    for (const key of keys) check.saw(key, ledgerPartitionOf(key, 6));
    check.verify(6);
    check.verify(6);
  });

  test('a record off its partition is a LedgerError naming the ledger, key, both partitions and the count', () => {
    const check = createPlacementCheck('order-events.runs');
    const belongs = ledgerPartitionOf(moved, 6);
    const at = (belongs + 1) % 6;
    check.saw(moved, at);
    assert.throws(
      () => check.verify(6),
      (e: Error) =>
        e instanceof LedgerError &&
        e.message.startsWith(
          `the run ledger order-events.runs holds ${moved} on partition ${at}, but with 6 partitions that key ` +
            `belongs on partition ${belongs}: the ledger's partition count changed after records were written`,
        ),
    );
  });

  test('once a record was misplaced, every later check fails, whatever the count and whatever is read next', () => {
    const check = createPlacementCheck('runs');
    check.saw(moved, ledgerPartitionOf(moved, 7));
    assert.throws(() => check.verify(6), LedgerError);
    assert.throws(() => check.verify(6), LedgerError, 'nothing new was read, still refused');
    assert.throws(() => check.verify(7), LedgerError, 'even under the count the record fits');
  });

  test('a changed partition count re-checks every record read before, not only the new ones', () => {
    const check = createPlacementCheck('runs');
    check.saw(moved, ledgerPartitionOf(moved, 6));
    check.verify(6);
    assert.throws(() => check.verify(7), LedgerError);
  });

  test('a key read again on another partition is checked where it sits now', () => {
    const check = createPlacementCheck('runs');
    const belongs = ledgerPartitionOf(moved, 6);
    check.saw(moved, belongs);
    check.verify(6);
    check.saw(moved, (belongs + 1) % 6);
    assert.throws(() => check.verify(6), LedgerError);
  });
});
