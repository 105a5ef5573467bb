// PostgreSQL WAL positions (src/sources/outbox/lsn.ts): "X/Y" in hex read as one 64-bit number
// (padded or not, either case), compared as numbers, written back as pg_lsn prints them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatLsn, lsnValue, normalLsn } from '../src/sources/outbox/lsn.ts';

describe('WAL positions', () => {
  test('X/Y is X << 32 | Y, padded or not, in either case', () => {
    assert.equal(lsnValue('0/0'), 0n);
    assert.equal(lsnValue('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
    assert.equal(lsnValue('00000016/b374d848'), lsnValue('16/B374D848'));
    assert.equal(lsnValue('FFFFFFFF/FFFFFFFF'), 2n ** 64n - 1n);
  });

  test('compared as numbers, not as text', () => {
    assert.ok(lsnValue('9/0') < lsnValue('10/0'), 'the high part is hex: 9 < 0x10');
    assert.ok(lsnValue('0/FFFFFFFF') < lsnValue('1/0'), 'the low part carries into the high part');
    assert.ok(lsnValue('0/A0') > lsnValue('0/9F'));
  });

  test('written as pg_lsn prints it: upper case, no padding; reading it back gives the same value', () => {
    assert.equal(formatLsn((0x16n << 32n) | 0xb374d848n), '16/B374D848');
    assert.equal(formatLsn(0n), '0/0');
    assert.equal(formatLsn(0xan), '0/A');
    assert.equal(normalLsn('00000016/0000000a'), '16/A');
    for (const text of ['0/0', '1/0', '0/1', 'ABCDEF/12', 'FFFFFFFF/FFFFFFFF']) assert.equal(normalLsn(text), text);
  });

  test('anything else is refused, quoting what it was given', () => {
    for (const bad of [
      '',
      '0',
      '0/',
      '/0',
      '0//0',
      'G/0',
      '0/-1',
      '123456789/0',
      '0/123456789',
      ' 0/0',
      '0/0\n',
      '0x1/0',
    ]) {
      assert.throws(() => lsnValue(bad), { message: `${JSON.stringify(bad)} is not a WAL position (X/Y in hex)` }, bad);
    }
  });
});
