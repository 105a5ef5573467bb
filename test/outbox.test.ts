// The PostgreSQL outbox source through the real engine, against the stack's real PostgreSQL and
// broker: position chains, out-of-order commits, two runs of one source at once, dead letters
// with row ids, a frozen database, and the guard against a lost ledger position. Each scenario
// counts its rows by order_id with a read_committed consumer: every row exactly once, none skipped.
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import type { App } from '../src/app.ts';
import type { CursorOutcome } from '../src/engine/index.ts';
import type { DeadLetter } from '../src/dlq/envelope.ts';
import { LedgerError, ProducerFencedError, SourceUnavailableError } from '../src/errors.ts';
import type { CursorSource } from '../src/sources/contract.ts';
import { outboxTable } from '../src/sources/outbox/table.ts';
import { createTopicsFor, readDecoded, testApp } from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import { assertEachRowOnce, insertRows, outboxConfig, pgClient, range } from './support/outbox.ts';
import { midSend } from './support/fault-kit.ts';
import { stackPid, uniqueName } from './support/services.ts';

const apps: App[] = [];
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
});
after(() => undefined);

async function scenario(env: Record<string, string> = {}) {
  const config = await outboxConfig(env);
  await createTopicsFor(config);
  const app = testApp(config);
  apps.push(app);
  return { config, app, table: outboxTable(config.source.outbox.table).table };
}

/** One run of the app's outbox source through the engine's cursor path. */
function runOnce(app: App, maxEvents: number): Promise<CursorOutcome> {
  const source: CursorSource | undefined = app.source.kind === 'cursor' ? app.source : undefined;
  assert.ok(source, 'EVENT_SOURCE=outbox gives a cursor source');
  return app.engine.produceFromCursor({
    source,
    maxEvents,
    nominalTimeMs: Date.now(),
    run: { workflowId: uniqueName('wf-outbox'), runId: 'run', attempt: 1 },
    transactionTimeoutMs: 60_000,
  });
}

describeEachKafkaClient('outbox source (real PostgreSQL and broker)', () => {
  test('each run publishes at most its count after the last position; the next starts there; rows added during a run wait for the next', async () => {
    const { app, table } = await scenario();
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 25));
      const first = await runOnce(app, 10);
      assert.equal(first.report.acknowledged, 10);
      assert.equal(first.from, undefined);
      assert.ok(first.lagSeconds !== null && first.lagSeconds > 0, 'rows wait: the lag is their age');
      await insertRows(db, table, range(26, 5));
      const second = await runOnce(app, 10);
      assert.equal(second.from, first.to, 'the second run starts where the first stopped');
      const third = await runOnce(app, 100);
      assert.deepEqual([second.report.acknowledged, third.report.acknowledged], [10, 10]);
      assert.equal(third.lagSeconds, 0);
      const idle = await runOnce(app, 100);
      assert.equal(idle.report.acknowledged, 0);
      assert.equal(idle.to, third.to, 'an empty run keeps the position');
      // Rows committed while a run is producing: published by this run or the next, once.
      await insertRows(db, table, range(31, 3000));
      const writers = (async () => {
        for (let i = 0; i < 20; i++) await insertRows(db, table, range(3031 + i * 100, 100));
      })();
      const during = await runOnce(app, 100_000);
      await writers;
      const rest = await runOnce(app, 100_000);
      assert.ok(during.report.acknowledged >= 3000, 'the run published what was committed before it read');
      assert.equal(during.report.acknowledged + rest.report.acknowledged, 5000);
      await assertEachRowOnce(app, range(1, 5030));
    } finally {
      await db.end();
    }
  });

  test('transactions committing out of id order: the row of the later commit is published by a later run, never skipped', async () => {
    const { app, table } = await scenario();
    const [a, b, c] = [await pgClient(), await pgClient(), await pgClient()];
    try {
      await insertRows(c, table, [1]); // committed before either writer starts
      await a.query('BEGIN');
      await insertRows(a, table, [2]); // lower id, lower txid: open
      await b.query('BEGIN');
      await b.query('SELECT pg_current_xact_id()');
      await insertRows(b, table, [3]); // higher id: committed first
      await b.query('COMMIT');
      const first = await runOnce(app, 100);
      assert.equal(first.report.acknowledged, 1, 'only the row below the horizon (the open transaction) is published');
      // A third transaction takes its txid now but its row id later: a higher txid with a lower id is fine too.
      await c.query('BEGIN');
      await c.query('SELECT pg_current_xact_id()');
      await a.query('COMMIT');
      const second = await runOnce(app, 100);
      assert.equal(second.report.acknowledged, 2, 'both writers, in commit-safe order');
      await insertRows(c, table, [4]);
      await c.query('COMMIT');
      const third = await runOnce(app, 100);
      assert.equal(third.report.acknowledged, 1);
      await assertEachRowOnce(app, [1, 2, 3, 4]);
    } finally {
      await Promise.allSettled([a.end(), b.end(), c.end()]);
    }
  });

  test('two runs of one source at once (two processes): one is fenced, no row is published twice, none skipped', async () => {
    const { config, app, table } = await scenario({ KAFKA_BATCH_MAX_MESSAGES: '200' });
    const other = testApp(config);
    apps.push(other);
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 20_000));
    } finally {
      await db.end();
    }
    const fenced: unknown[] = [];
    /** Like a retrying activity: a fenced run is taken again, and publishes what is left. */
    const runUntilDone = async (which: App) => {
      for (let i = 0; i < 5; i++) {
        try {
          return await runOnce(which, 15_000);
        } catch (err) {
          if (!(err instanceof ProducerFencedError)) throw err;
          fenced.push(err);
        }
      }
      throw new Error('fenced five times');
    };
    const first = runUntilDone(app);
    await midSend(config); // the first run is sending: the second fences it
    const outcomes = await Promise.all([first, runUntilDone(other)]);
    assert.ok(fenced.length >= 1, 'the run that was overtaken was fenced');
    const published = outcomes.reduce((n, o) => n + o.report.acknowledged, 0);
    assert.ok(published <= 20_000, `${published} published`);
    const last = await runOnce(app, 20_000);
    assert.equal(published + last.report.acknowledged, 20_000);
    await assertEachRowOnce(app, range(1, 20_000));
  });

  test('a row that fails validation goes to the dead-letter topic with its row id; the relay goes on', async () => {
    const { config, app, table } = await scenario();
    const db = await pgClient();
    let badIds: string[];
    try {
      await insertRows(db, table, [1]);
      const bad = await db.query<{ id: string }>(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total)
         VALUES (2, 'cust_2', 'LOST', 1.0), (3, NULL, 'CREATED', 1.0) RETURNING id::text`,
      );
      badIds = bad.rows.map((r) => r.id);
      await insertRows(db, table, [4]);
    } finally {
      await db.end();
    }
    const outcome = await runOnce(app, 100);
    assert.equal(outcome.report.acknowledged, 2);
    assert.equal(outcome.report.deadLettered, 2);
    assert.equal(outcome.lagSeconds, 0, 'nothing waits: the bad rows are behind the position too');
    await assertEachRowOnce(app, [1, 4]);
    const dead = await readDecoded<DeadLetter>(app, config.kafka.dlqTopic);
    assert.deepEqual(dead.map((d) => d.headers['source_id']).sort(), [...badIds].sort());
    const messages = dead.map((d) => d.decoded.error_message).join(' | ');
    assert.match(messages, new RegExp(`row ${badIds[0]}: order_status`));
    assert.match(messages, new RegExp(`row ${badIds[1]}: customer_id`));
  });

  test('PostgreSQL frozen at run start: the run fails retryably within its bound and commits nothing; the next run publishes every row once', async () => {
    const { app, table } = await scenario({ OUTBOX_QUERY_TIMEOUT_MS: '1000', KAFKA_TRANSACTION_RESTARTS: '0' });
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 50));
    } finally {
      await db.end();
    }
    const pid = stackPid('postgres');
    process.kill(pid, 'SIGSTOP');
    let failure: unknown;
    const started = Date.now();
    try {
      await runOnce(app, 100);
    } catch (err) {
      failure = err;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.ok(failure instanceof SourceUnavailableError, `expected SourceUnavailableError, got ${String(failure)}`);
    assert.ok(failure.retryable);
    assert.ok(Date.now() - started < 15_000, 'bounded by OUTBOX_QUERY_TIMEOUT_MS, not hung');
    assert.equal((await readDecoded(app, app.config.kafka.topic)).length, 0, 'nothing of the failed run is visible');
    const next = await runOnce(app, 100);
    assert.equal(next.report.acknowledged, 50);
    await assertEachRowOnce(app, range(1, 50));
  });

  test('the ledger lost the position (another ledger topic) while the outbox says rows were published: refused, nothing republished', async () => {
    const { config, app, table } = await scenario();
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 5));
    } finally {
      await db.end();
    }
    assert.equal((await runOnce(app, 10)).report.acknowledged, 5);
    const moved = testApp({ ...config, kafka: { ...config.kafka, runsTopic: `${config.kafka.runsTopic}.new` } });
    apps.push(moved);
    await createTopicsFor(moved.config);
    await assert.rejects(runOnce(moved, 10), (err: unknown) => {
      assert.ok(err instanceof LedgerError);
      assert.match(
        err.message,
        /holds no position for source outbox:ob_.*_relay says rows up to \d+:\d+ were published/,
      );
      return true;
    });
    await assertEachRowOnce(app, range(1, 5));
  });
});
