// The outbox table's names and DDL (src/sources/outbox/table.ts): every SQL name derived from
// OUTBOX_TABLE and quoted, a name outside the rule refused as a ConfigError naming the setting, the
// publication's name cut to PostgreSQL's 63 bytes, and DDL that is safe to apply on every deploy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/errors.ts';
import { TABLE_NAME_RULE } from '../src/pg-names.ts';
import { outboxDdl, outboxTable } from '../src/sources/outbox/table.ts';

describe('outbox table names', () => {
  test('a bare name lives in public; every name is derived from it and quoted', () => {
    assert.deepEqual(outboxTable('order_outbox'), {
      table: '"public"."order_outbox"',
      relay: '"public"."order_outbox_relay"',
      schema: 'public',
      relayName: 'order_outbox_relay',
      publication: '"order_outbox_outbox"',
      publicationName: 'order_outbox_outbox',
      index: '"order_outbox_txid_id"',
      trigger: '"order_outbox_txid"',
      triggerFunction: '"public"."order_outbox_set_txid"',
      name: 'order_outbox',
    });
  });

  test('schema.table puts the tables and the trigger function in that schema', () => {
    const t = outboxTable('sales.orders');
    assert.equal(t.schema, 'sales');
    assert.equal(t.table, '"sales"."orders"');
    assert.equal(t.relay, '"sales"."orders_relay"');
    assert.equal(t.triggerFunction, '"sales"."orders_set_txid"');
    assert.equal(t.publicationName, 'orders_outbox');
    assert.equal(t.name, 'sales.orders');
  });

  test('a name outside the rule is a ConfigError naming OUTBOX_TABLE, the rule and the name', () => {
    const long = `t${'x'.repeat(63)}`; // 64 characters
    for (const bad of [
      '',
      'Orders',
      '1orders',
      'a.b.c',
      'orders;drop table x',
      '"orders"',
      'order-outbox',
      ' orders',
      long,
    ]) {
      assert.throws(
        () => outboxTable(bad),
        (e: Error) =>
          e instanceof ConfigError && e.message === `OUTBOX_TABLE: ${TABLE_NAME_RULE}, got ${JSON.stringify(bad)}`,
        JSON.stringify(bad),
      );
    }
  });

  test("a long table's publication name is cut to 63 bytes and keeps a hash, so two long names stay apart", () => {
    const a = outboxTable(`orders_${'a'.repeat(56)}`); // 63 characters, the longest allowed
    const b = outboxTable(`orders_${'a'.repeat(55)}b`);
    assert.ok(a.publicationName.length <= 63, a.publicationName);
    assert.ok(a.publicationName.endsWith('_outbox'), a.publicationName);
    assert.notEqual(a.publicationName, b.publicationName);
    assert.equal(a.publication, `"${a.publicationName}"`);
  });
});

describe('outbox DDL', () => {
  const t = outboxTable('sales.orders');
  const ddl = outboxDdl(t);
  const index = (pattern: RegExp) => {
    const i = ddl.findIndex((s) => pattern.test(s));
    assert.ok(i >= 0, `no statement matches ${pattern}`);
    return i;
  };

  test('idempotent: tables and index only if missing, the function replaced, the trigger dropped before it is made', () => {
    for (const s of ddl.filter((s) => /^CREATE (TABLE|INDEX)/.test(s)))
      assert.match(s, /^CREATE (TABLE|INDEX) IF NOT EXISTS /);
    assert.ok(index(/^CREATE OR REPLACE FUNCTION "sales"."orders_set_txid"\(\)/) < index(/^CREATE TRIGGER/));
    assert.ok(index(/^DROP TRIGGER IF EXISTS "orders_txid" ON "sales"."orders"$/) < index(/^CREATE TRIGGER/));
    assert.ok(index(/^CREATE TABLE IF NOT EXISTS "sales"."orders" \(/) < index(/^CREATE INDEX/));
  });

  test('the outbox table has the columns the relay reads, its txid set by a trigger whatever the writer sends', () => {
    const table = ddl[index(/^CREATE TABLE IF NOT EXISTS "sales"."orders" \(/)]!;
    for (const column of ['id bigint', 'txid xid8', 'inserted_at timestamptz', 'order_id bigint', 'customer_id text']) {
      assert.ok(table.includes(column), column);
    }
    assert.match(
      ddl[index(/^CREATE INDEX/)]!,
      /^CREATE INDEX IF NOT EXISTS "orders_txid_id" ON "sales"."orders" \(txid, id\)$/,
    );
    assert.match(ddl[index(/^CREATE OR REPLACE FUNCTION/)]!, /NEW\.txid := pg_current_xact_id\(\)/);
    assert.equal(
      ddl[index(/^CREATE TRIGGER/)],
      'CREATE TRIGGER "orders_txid" BEFORE INSERT ON "sales"."orders" FOR EACH ROW EXECUTE FUNCTION "sales"."orders_set_txid"()',
    );
  });

  test("the relay table is keyed by topic and source, and an earlier release's (keyed by source) is migrated", () => {
    assert.match(ddl[index(/^CREATE TABLE IF NOT EXISTS "sales"."orders_relay"/)]!, /PRIMARY KEY \(topic, source\)/);
    index(/^ALTER TABLE "sales"."orders_relay" ADD COLUMN IF NOT EXISTS topic text/);
    index(/ADD PRIMARY KEY \(topic, source\)/);
    index(/^ALTER TABLE "sales"."orders_relay" DROP COLUMN IF EXISTS last_id$/);
  });

  test("every statement names the outbox's objects only quoted, never spliced in bare", () => {
    for (const s of ddl) {
      const bare = s.replace(/"[^"]*"/g, '""');
      assert.ok(!/\borders\b/.test(bare), `an unquoted name in: ${s}`);
    }
  });
});
