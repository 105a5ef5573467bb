// PostgreSQL names (src/pg-names.ts): the outbox table's name rule, and names cut to PostgreSQL's
// 63 bytes keeping a hash of what was cut.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { TABLE_NAME, shortName } from '../src/pg-names.ts';

describe('TABLE_NAME', () => {
  test('takes a lower-case table or schema.table', () => {
    for (const name of ['order_outbox', '_t', 'sales.orders2', `${'s'.repeat(63)}.${'t'.repeat(63)}`]) {
      assert.ok(TABLE_NAME.test(name), name);
    }
  });

  test('refuses upper case, quotes, a leading digit, three parts and an identifier over 63 bytes', () => {
    for (const name of ['Orders', 'order-outbox', '"t"', '1t', 'a.b.c', 't;drop', '', 'x'.repeat(64), '.t']) {
      assert.ok(!TABLE_NAME.test(name), name);
    }
  });
});

describe('shortName', () => {
  test('a name within 63 bytes is base and suffix as they are', () => {
    assert.equal(shortName('order_outbox', '_slot'), 'order_outbox_slot');
    const base = 'b'.repeat(58);
    assert.equal(shortName(base, '_slot'), `${base}_slot`, 'exactly 63');
  });

  test('a longer one is cut to 63, keeps its suffix and a hash of the whole base', () => {
    const base = 'b'.repeat(59);
    const name = shortName(base, '_slot');
    const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
    assert.equal(name.length, 63);
    assert.equal(name, `${'b'.repeat(49)}_${hash}_slot`);
  });

  test('two long bases that differ only past the cut get different names', () => {
    const a = shortName(`${'x'.repeat(80)}a`, '_pub');
    const b = shortName(`${'x'.repeat(80)}b`, '_pub');
    assert.notEqual(a, b);
    assert.equal(a.length, 63);
    assert.equal(shortName(`${'x'.repeat(80)}a`, '_pub'), a, 'the same base, the same name');
  });
});
