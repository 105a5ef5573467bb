// npm run outbox as a user runs it, against the stack's real PostgreSQL and Secrets Manager: init,
// add, status and prune around a real run; and the unhappy paths: a bad table name, a missing
// table, a wrong password (named by its secret, never printed).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { App } from '../src/app.ts';
import { createTopicsFor, envFor, putSecret, readDecoded, testApp, testConfig } from './support/app.ts';
import { assertEachRowOnce, pgClient, publishOnce } from './support/outbox.ts';
import { outboxCli } from './support/outbox-cli.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { readSecretJson, uniqueName } from './support/services.ts';

const apps: App[] = [];
after(async () => {
  await Promise.allSettled(apps.map((a) => a.close()));
});

const freshTable = () =>
  uniqueName('obcli')
    .replace(/[^a-z0-9_]/g, '_')
    .toLowerCase();

test('init, add, a run, status and prune: the published rows go, the waiting ones stay', async () => {
  const table = freshTable();
  const config = testConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table });
  const env = envFor(config, { EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table });
  const init = await outboxCli(['init'], env);
  assert.equal(init.code, 0, init.out);
  assert.match(init.out, new RegExp(`${table}: ready .*source outbox:${table} → ${config.kafka.topic} registered`));
  assert.equal((await outboxCli(['init'], env)).code, 0, 'init again is a no-op');
  const added = await outboxCli(['add', '--count', '8'], env);
  assert.match(added.out, /added 8 rows/, added.out);
  await createTopicsFor(config);
  const app = testApp(config);
  apps.push(app);
  const outcome = await publishOnce(app, 5); // stops inside the one transaction of 8 rows
  assert.equal(outcome.report.acknowledged, 5);
  const status = await outboxCli(['status'], env);
  assert.match(
    status.out,
    new RegExp(`slot ${config.source.outbox.slot}: confirmed up to \\S+, keeps [\\d.]+ MiB of WAL`),
  );
  assert.match(
    status.out,
    new RegExp(
      `outbox:${table} → ${config.kafka.topic}: published up to \\S+ \\(\\+5 rows of the transaction committing at`,
    ),
    status.out,
  );
  const early = await outboxCli(['prune'], env);
  assert.match(early.out, /deleted 0 rows/, 'a transaction published in part is kept whole');
  assert.equal((await publishOnce(app, 5)).report.acknowledged, 3);
  const pruned = await outboxCli(['prune'], env);
  assert.match(pruned.out, /deleted 8 rows \(transactions below \d+, published by all 1 sources\)/, pruned.out);
  const db = await pgClient();
  try {
    const left = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    assert.equal(left.rows[0]?.n, '0');
  } finally {
    await db.end();
  }
  const ids = (await readOrderIds(app)).sort();
  assert.equal(ids.length, 8);
  await assertEachRowOnce(app, ids);
});

/** One run of a deployment's outbox source (its app) through the engine. */
const publish = (app: App, maxEvents = 1000) => publishOnce(app, maxEvents);

describeEachKafkaClient('two deployments on one outbox table', () => {
  test('two deployments publish one table to two topics: prune waits for both, and an unregistered one is refused', async () => {
    const table = freshTable();
    const deployment = async () => {
      const config = testConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table });
      await createTopicsFor(config);
      const app = testApp(config);
      apps.push(app);
      return { app, env: envFor(config, { EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table }) };
    };
    const [a, b, late] = [await deployment(), await deployment(), await deployment()];
    assert.equal((await outboxCli(['init'], a.env)).code, 0);
    assert.equal((await outboxCli(['init'], b.env)).code, 0);
    assert.match((await outboxCli(['add', '--count', '10'], a.env)).out, /added 10 rows/);
    assert.equal((await publish(a.app)).report.acknowledged, 10);
    const first = await outboxCli(['prune'], a.env);
    assert.match(first.out, /deleted 0 rows/, 'b has published nothing yet: every row stays');
    assert.equal((await publish(b.app)).report.acknowledged, 10);
    const second = await outboxCli(['prune'], a.env);
    assert.match(second.out, /deleted 10 rows .*published by all 2 sources/, second.out);
    const ids = await readOrderIds(a.app);
    assert.equal(ids.length, 10);
    await assertEachRowOnce(a.app, ids);
    await assertEachRowOnce(b.app, ids);
    // A third deployment that was never registered: its first run is refused, naming the others.
    await assert.rejects(publish(late.app), (err: unknown) => {
      assert.equal((err as Error).name, 'LedgerError');
      assert.match(
        (err as Error).message,
        new RegExp(
          `source outbox:${table} has never published ${table} to .*other sources publish it .*npm run outbox -- init`,
        ),
      );
      return true;
    });
    assert.equal((await readOrderIds(late.app)).length, 0);
    const status = await outboxCli(['status'], a.env);
    assert.match(status.out, new RegExp(`→ ${a.app.config.kafka.topic}: published up to`));
    assert.match(status.out, new RegExp(`→ ${b.app.config.kafka.topic}: published up to`));
  });
});

test('an earlier release’s relay table (keyed by source) is migrated by init; its row is kept and claimed', async () => {
  const table = freshTable();
  const config = testConfig({ EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table });
  const env = envFor(config, { EVENT_SOURCE: 'outbox', OUTBOX_TABLE: table });
  const db = await pgClient();
  try {
    // What the earlier release's init made, with a position it recorded.
    await db.query(`CREATE TABLE ${table}_relay (source text PRIMARY KEY, txid xid8 NOT NULL, last_id bigint NOT NULL,
                      published_at timestamptz NOT NULL DEFAULT now())`);
    await db.query(`INSERT INTO ${table}_relay (source, txid, last_id) VALUES ($1, '900'::xid8, 7)`, [
      `outbox:${table}`,
    ]);
    await createTopicsFor(config);
    const app = testApp(config);
    apps.push(app);
    assert.equal((await outboxCli(['add', '--count', '1'], env)).code, 1, 'no outbox table yet');
    const init = await outboxCli(['init'], env);
    assert.match(init.out, /given the earlier release’s relay row of its source/, init.out);
    const rows = await db.query(`SELECT topic, source, txid::text, position FROM ${table}_relay`);
    assert.deepEqual(rows.rows, [
      { topic: config.kafka.topic, source: `outbox:${table}`, txid: '900', position: null },
    ]);
    // The ledger has no position for it, the relay row says it published: refused, nothing republished.
    await assert.rejects(
      publish(app),
      /holds no position for source .* but .*_relay says it published rows up to transaction 900/,
    );
  } finally {
    await db.end();
  }
});

async function readOrderIds(app: App): Promise<number[]> {
  return (await readDecoded<{ order_id: bigint }>(app, app.config.kafka.topic)).map((r) => Number(r.decoded.order_id));
}

test('a bad OUTBOX_TABLE is refused naming the setting; a missing table says to run init', async () => {
  const config = testConfig();
  const bad = await outboxCli(['status'], envFor(config, { OUTBOX_TABLE: 'Orders; DROP TABLE x' }));
  assert.equal(bad.code, 1);
  assert.match(bad.out, /ConfigError: invalid configuration:\s+OUTBOX_TABLE: expected a lower-case table name/);
  const missing = await outboxCli(['status'], envFor(config, { OUTBOX_TABLE: freshTable() }));
  assert.equal(missing.code, 1);
  assert.match(missing.out, /ConfigError: .*does not exist: create the outbox table with `npm run outbox -- init`/);
});

test('a wrong PostgreSQL password: AuthenticationError naming the secret, and the password is never printed', async () => {
  const good = await readSecretJson('order-events/postgres');
  const name = uniqueName('pg-wrong');
  const wrong = `wrong-${uniqueName('pw')}`;
  await putSecret(name, { ...good, port: Number(good['port']), password: wrong });
  const result = await outboxCli(['status'], envFor(testConfig(), { POSTGRES_SECRET_NAME: name }));
  assert.equal(result.code, 1);
  assert.match(result.out, new RegExp(`AuthenticationError: PostgreSQL refused the credentials of secret ${name}`));
  assert.ok(!result.out.includes(wrong), 'no password in the output');
  const missingKey = uniqueName('pg-nokey');
  await putSecret(missingKey, { host: '127.0.0.1', database: 'order_events', user: 'order_events' });
  const noKey = await outboxCli(['status'], envFor(testConfig(), { POSTGRES_SECRET_NAME: missingKey }));
  assert.match(noKey.out, new RegExp(`SecretError: secret ${missingKey}: key "password" is missing`));
});
