// The outbox tests' parts: a PostgreSQL client on the stack's database, a fresh outbox table per
// scenario (applied with the product's own DDL), rows inserted the way a service would, and the
// exactly-once count of those rows (by order_id, one per row) with a read_committed consumer.
import assert from 'node:assert/strict';
import pg from 'pg';
import type { App } from '../../src/app.ts';
import type { Config } from '../../src/config/index.ts';
import type { OrderEvent } from '../../src/schema/order-event.ts';
import { createSlot } from '../../src/sources/outbox/slot.ts';
import { outboxDdl, outboxTable } from '../../src/sources/outbox/table.ts';
import { readDecoded, testConfig } from './app.ts';
import { required, uniqueName } from './services.ts';

/** A client on the stack's database (STACK_POSTGRES_URL, written by the stack into .stack/env). */
export async function pgClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: required('STACK_POSTGRES_URL') });
  await client.connect();
  client.on('error', () => undefined); // a test that restarts the server ends this client
  return client;
}

/** The product's queries over a test client. */
export const queryOn = (db: pg.Client) => ({
  query: async <R extends Record<string, unknown>>(sql: string, params?: unknown[]) =>
    (await db.query<R>(sql, params)).rows,
});

/**
 * A fresh outbox (the product's own DDL, publication and slot, as `outbox init` makes them); the
 * settings that make a worker publish it. The slots earlier scenarios left behind are dropped
 * first (tests run one at a time), so that they keep no WAL.
 */
export async function newOutbox(): Promise<{ env: Record<string, string>; table: string; slot: string }> {
  const name = uniqueName('ob')
    .replace(/[^a-z0-9_]/g, '_')
    .toLowerCase();
  const slot = `${name}_slot`;
  const db = await pgClient();
  try {
    await dropTestSlots(db);
    const t = outboxTable(name);
    for (const statement of outboxDdl(t)) await db.query(statement);
    await createSlot(queryOn(db), t, slot);
    madeHere.add(slot);
  } finally {
    await db.end();
  }
  return {
    env: { EVENT_SOURCE: 'outbox', OUTBOX_TABLE: name, OUTBOX_SLOT: slot },
    table: outboxTable(name).table,
    slot,
  };
}

/** The slots this test process made: its own scenarios may still use them. */
const madeHere = new Set<string>();

/** Drops the slots earlier test files left behind (not this process's, none held by a process), so they keep no WAL. */
export async function dropTestSlots(db: pg.Client): Promise<void> {
  await db.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
      WHERE slot_name ~ '^ob(cli)?_' AND NOT active AND NOT (slot_name = ANY($1::text[]))`,
    [[...madeHere]],
  );
}

/** One run of the app's outbox source through the engine; its report and positions. */
export async function publishOnce(app: App, maxEvents: number, run?: { workflowId: string }) {
  const outcome = await app.engine.produceRun({
    source: app.source,
    eventCount: maxEvents,
    nominalTimeMs: Date.now(),
    run: { workflowId: run?.workflowId ?? uniqueName('wf-outbox'), runId: 'run', attempt: 1 },
    transactionTimeoutMs: 60_000,
  });
  assert.ok(outcome.source, 'an outbox run reports its positions');
  const { from, to, lagSeconds } = outcome.source;
  return { report: outcome.report, from: from ?? undefined, to: to ?? undefined, lagSeconds };
}

/** Settings for one outbox scenario: its own topics and its own outbox table, created now. */
export async function outboxConfig(env: Record<string, string> = {}): Promise<Config> {
  const outbox = await newOutbox();
  return testConfig({ ...outbox.env, ...env });
}

/** Inserts `orderIds` as rows in transactions of at most 10,000 rows. */
export async function insertMany(table: string, orderIds: number[]): Promise<void> {
  const db = await pgClient();
  try {
    for (let i = 0; i < orderIds.length; i += 10_000) await insertRows(db, table, orderIds.slice(i, i + 10_000));
  } finally {
    await db.end();
  }
}

/** Inserts one row per order id in one transaction (committed when it returns). */
export async function insertRows(db: pg.Client | pg.PoolClient, table: string, orderIds: number[]): Promise<void> {
  await db.query(
    `INSERT INTO ${table} (order_id, customer_id, order_status, order_total)
     SELECT o, 'cust_' || o, 'CREATED', 10.5 FROM unnest($1::bigint[]) AS o`,
    [orderIds],
  );
}

export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** Every id in `expected` exactly once on the events topic (read_committed), and nothing else. */
export async function assertEachRowOnce(app: App, expected: number[], what = 'rows'): Promise<void> {
  const timeoutMs = 30_000 + expected.length / 5;
  const seen = (await readDecoded<OrderEvent>(app, app.config.kafka.topic, { timeoutMs })).map((r) =>
    Number(r.decoded.order_id),
  );
  const counts = new Map<number, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = expected.filter((id) => !counts.has(id));
  const wanted = new Set(expected);
  const unexpected = [...counts.keys()].filter((id) => !wanted.has(id));
  assert.deepEqual(
    { duplicates: duplicates.slice(0, 10), missing: missing.slice(0, 10), unexpected: unexpected.slice(0, 10) },
    { duplicates: [], missing: [], unexpected: [] },
    `${what}: each exactly once (${seen.length} read, ${expected.length} expected)`,
  );
  assert.equal(seen.length, expected.length);
}
