// npm run outbox as a user runs it, against the stack's real PostgreSQL and Secrets Manager: init,
// add, status and prune around a real run; and the unhappy paths: a bad table name, a missing
// table, a wrong password (named by its secret, never printed).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import type { App } from '../src/app.ts';
import type { CursorSource } from '../src/sources/contract.ts';
import { createTopicsFor, envFor, putSecret, readDecoded, testApp, testConfig } from './support/app.ts';
import { assertEachRowOnce, pgClient } from './support/outbox.ts';
import { readSecretJson, uniqueName } from './support/services.ts';

const run = promisify(execFile);
const apps: App[] = [];
after(async () => {
  await Promise.allSettled(apps.map((a) => a.close()));
});

async function outboxCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/outbox.ts', ...args], { env });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

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
  assert.match(init.out, new RegExp(`${table}: ready`));
  assert.equal((await outboxCli(['init'], env)).code, 0, 'init again is a no-op');
  const added = await outboxCli(['add', '--count', '8'], env);
  assert.match(added.out, /added 8 rows/, added.out);
  await createTopicsFor(config);
  const app = testApp(config);
  apps.push(app);
  const outcome = await app.engine.produceFromCursor({
    source: app.source as CursorSource,
    maxEvents: 5,
    nominalTimeMs: Date.now(),
    run: { workflowId: uniqueName('wf-cli'), runId: 'run', attempt: 1 },
    transactionTimeoutMs: 60_000,
  });
  assert.equal(outcome.report.acknowledged, 5);
  const status = await outboxCli(['status'], env);
  assert.match(status.out, new RegExp(`outbox:${table}: published up to ${outcome.to} .*, 3 rows waiting`), status.out);
  const pruned = await outboxCli(['prune'], env);
  assert.match(pruned.out, new RegExp(`deleted 5 rows published by outbox:${table}`), pruned.out);
  const db = await pgClient();
  try {
    const left = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    assert.equal(left.rows[0]?.n, '3', 'the rows still waiting are kept');
  } finally {
    await db.end();
  }
  const ids = (await readOrderIds(app)).sort();
  assert.equal(ids.length, 5);
  await assertEachRowOnce(app, ids);
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
