// The outbox relay's position (src/sources/outbox/position.ts): written and read back exactly, its
// LSN canonical, and a position this release did not write (an earlier release's, not JSON, an
// unknown field) refused as a LedgerError that says what it was; and how it reads in messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LedgerError } from '../src/errors.ts';
import {
  describeOrigin,
  describePosition,
  formatPosition,
  parsePosition,
  type OutboxPosition,
} from '../src/sources/outbox/position.ts';

const origin = { system: '7441234567890123456', timeline: 2, database: 'orders', slot: 'order_events_outbox' };
const plain: OutboxPosition = { ...origin, lsn: '16/B374D848', prunable: '1234' };
const inside: OutboxPosition = {
  ...plain,
  inside: { commit: '16/B3750000', rows: 500 },
  committedAt: '2026-12-03T10:00:00.000Z',
};

describe('outbox positions', () => {
  test('read back exactly as written, with and without the optional parts (absent, never undefined)', () => {
    assert.deepStrictEqual(parsePosition(formatPosition(plain)), plain);
    assert.deepStrictEqual(parsePosition(formatPosition(inside)), inside);
    assert.equal(parsePosition(undefined), undefined, 'no position: the source never ran');
  });

  test('the LSN is written canonical, whatever case or padding it came in', () => {
    const text = formatPosition({ ...plain, lsn: '00000016/b374d848' });
    assert.equal(parsePosition(text)!.lsn, '16/B374D848');
    assert.equal(text, formatPosition(plain));
  });

  test("an earlier release's position (transaction-id order) is refused with the way over to the slot", () => {
    assert.throws(
      () => parsePosition('123456:789'),
      (e: Error) =>
        e instanceof LedgerError &&
        e.message.startsWith("the run ledger's outbox position 123456:789 is an earlier release's") &&
        e.message.includes('npm run outbox -- init') &&
        e.message.includes('npm run outbox -- adopt-slot'),
    );
  });

  test('a position that is not JSON, or not of this release, is a LedgerError naming the field', () => {
    assert.throws(
      () => parsePosition('16/B374D848'),
      (e: Error) =>
        e instanceof LedgerError && e.message === `the run ledger's outbox position "16/B374D848" is not JSON`,
    );
    const refused = (value: object, field: string) =>
      assert.throws(
        () => parsePosition(JSON.stringify(value)),
        (e: Error) =>
          e instanceof LedgerError &&
          e.message.startsWith("the run ledger's outbox position is not one this release wrote: ") &&
          e.message.includes(field),
        field,
      );
    refused({ ...plain, lsn: '16/b374d848' }, 'lsn'); // never written in lower case
    refused({ ...plain, system: 'abc' }, 'system');
    refused({ ...plain, timeline: 0 }, 'timeline');
    refused({ ...plain, prunable: '-1' }, 'prunable');
    refused({ ...plain, inside: { commit: '16/B3750000', rows: -1 } }, 'inside.rows');
    refused({ ...plain, inside: { commit: '16/B3750000', rows: 1, extra: true } }, 'inside');
    refused({ ...plain, txid: '5' }, 'txid'); // an unknown field: not a position this release wrote
    const { slot, ...noSlot } = plain;
    void slot;
    refused(noSlot, 'slot');
  });

  test('in messages: the LSN, plus the rows already published of the transaction it stopped inside; the database named', () => {
    assert.equal(describePosition(plain), '16/B374D848');
    assert.equal(describePosition(inside), '16/B374D848 (+500 rows of the transaction committing at 16/B3750000)');
    assert.equal(
      describeOrigin(plain),
      'system 7441234567890123456, timeline 2, database orders, slot order_events_outbox',
    );
  });
});
