// The PostgreSQL outbox source through the real engine, against the stack's real PostgreSQL and
// broker: position chains, out-of-order commits, two runs of one source at once, dead letters
// with row ids, a frozen database, and the guard against a lost ledger position. Each scenario
// counts its rows by order_id with a read_committed consumer: every row exactly once, none skipped.
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { createApp, type App } from '../src/app.ts';
import { noMetrics, type ProducerMetrics } from '../src/telemetry/metrics.ts';
import type { CursorOutcome } from '../src/engine/index.ts';
import type { DeadLetter } from '../src/dlq/envelope.ts';
import {
  LedgerError,
  SourceQueryError,
  SourceUnavailableError,
  TopicNotFoundError,
  TransientError,
} from '../src/errors.ts';
import type { CursorSource } from '../src/sources/contract.ts';
import { outboxTable } from '../src/sources/outbox/table.ts';
import { outboxConnection } from '../src/sources/index.ts';
import { awsSecretReader } from '../src/secrets.ts';
import { captureLogger, createTopicsFor, readDecoded, setTopicSettings, testApp } from './support/app.ts';
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
  const { logger, lines } = captureLogger();
  const lags: number[] = [];
  const metrics: ProducerMetrics = { ...noMetrics, sourceLag: (_source, seconds) => lags.push(seconds) };
  const app = createApp(config, { logger, metrics });
  apps.push(app);
  return { config, app, table: outboxTable(config.source.outbox.table).table, lines, lags, logger, metrics };
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
    // The first run is overtaken mid-send by the second, which opens the source's transaction and
    // fences it. The overtaken run fails retryably: ProducerFencedError, or on librdkafka sometimes
    // the broker's CONCURRENT_TRANSACTIONS (its transaction was being aborted by the fence). It is
    // taken again only once the second is done, as Temporal's 5 s retry interval does: two runs
    // that retry into each other at once fence each other in turn (a livelock, docs/event-sources.md).
    const first = runOnce(app, 15_000).then(
      () => assert.fail('the overtaken run committed'),
      (err: unknown) => err,
    );
    await midSend(config); // the first run is sending: the second fences it
    const second = await runOnce(other, 15_000);
    const overtaken = await first;
    assert.ok(
      overtaken instanceof TransientError && overtaken.retryable,
      `the overtaken run failed retryably: ${String(overtaken)}`,
    );
    assert.match((overtaken as Error).message, /took over|CONCURRENT_TRANSACTIONS|concurrent/i);
    const retried = await runOnce(app, 15_000);
    const outcomes = [second, retried];
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
        /holds no position for source outbox:ob_\S+ on \S+, but \S+_relay says it published rows up to \d+:\d+/,
      );
      return true;
    });
    await assertEachRowOnce(app, range(1, 5));
  });
  test('no row stops the source: each bad row goes to the dead-letter topic once, with its id; the rows around it are published', async () => {
    const { config, app, table } = await scenario();
    // A small topic limit (the dead-letter topic's too: a dead letter must be cut to fit) and a one-day
    // window behind; the broker's default window ahead is one hour (Kafka 4).
    const limits = { 'max.message.bytes': '20000', 'message.timestamp.before.max.ms': '86400000' };
    await setTopicSettings(config.kafka.topic, limits);
    await setTopicSettings(config.kafka.dlqTopic, limits);
    const bad: Record<string, RegExp> = {
      "created_at = 'infinity'": /created_at: "infinity" is not a time/,
      "created_at = '-infinity'": /created_at: "-infinity" is not a time/,
      'created_at IS NULL': /created_at: expected long, got null/,
      'created_at two hours ahead': /created_at: .* s ahead of now; the topic takes at most 3600000 ms ahead/,
      'created_at two days behind': /created_at: .* s behind now; the topic takes at most 86400000 ms behind/,
      'a 50,000-byte customer_id': /the row's text is 500\d\d bytes; the topic takes records of at most 20000/,
      'a 19,900-byte customer_id (fetched whole, too large once encoded)': /the record is \d+ bytes .* at most 20000/,
      'an unknown status': /order_status: expected one of/,
      'a NULL customer': /customer_id: expected string, got null/,
    };
    const values = [
      `(1, 'c', 'CREATED', 1, 'infinity')`,
      `(2, 'c', 'CREATED', 1, '-infinity')`,
      `(3, 'c', 'CREATED', 1, NULL)`,
      `(4, 'c', 'CREATED', 1, now() + interval '2 hours')`,
      `(5, 'c', 'CREATED', 1, now() - interval '2 days')`,
      `(6, repeat('x', 50000), 'CREATED', 1, now())`,
      `(7, repeat('y', 19900), 'CREATED', 1, now())`,
      `(8, 'c', 'LOST', 1, now())`,
      `(9, NULL, 'CREATED', 1, now())`,
    ];
    const db = await pgClient();
    const badIds: string[] = [];
    try {
      for (let i = 0; i < values.length; i++) {
        await insertRows(db, table, range(1000 + i * 10, 10)); // good rows before and after each bad one
        const row = await db.query<{ id: string }>(
          `INSERT INTO ${table} (order_id, customer_id, order_status, order_total, created_at) VALUES ${values[i]}
           RETURNING id::text`,
        );
        badIds.push(row.rows[0]!.id);
      }
      await insertRows(db, table, range(2000, 10));
    } finally {
      await db.end();
    }
    const good = [...range(1000, values.length * 10), ...range(2000, 10)];
    const outcome = await runOnce(app, 1000);
    assert.deepEqual([outcome.report.acknowledged, outcome.report.deadLettered], [good.length, values.length]);
    const again = await runOnce(app, 1000);
    assert.deepEqual([again.report.acknowledged, again.report.deadLettered], [0, 0], 'nothing is sent twice');
    await assertEachRowOnce(app, good);
    const dead = await readDecoded<DeadLetter>(app, config.kafka.dlqTopic);
    assert.deepEqual(dead.map((d) => d.headers['source_id']).sort(), [...badIds].sort(), 'each bad row once');
    const byId = new Map(dead.map((d) => [d.headers['source_id'], d.decoded]));
    Object.values(bad).forEach((pattern, i) => {
      const letter = byId.get(badIds[i])!;
      assert.match(letter.error_message, new RegExp(`^row ${badIds[i]}: `));
      assert.match(letter.error_message, pattern, `${Object.keys(bad)[i]}: ${letter.error_message.slice(0, 300)}`);
    });
    const cut = byId.get(badIds[6])!;
    assert.match(cut.error_message, /original_event is \d+ bytes, cut to its first \d+ here/);
    assert.ok(cut.original_event.length < 20000);
  });

  test('a page is bounded by bytes as well as rows: wide rows are read in several pages, every row once', async () => {
    const { app, table } = await scenario({ OUTBOX_PAGE_BYTES: '65536', OUTBOX_PAGE_ROWS: '5000' });
    const db = await pgClient();
    try {
      await db.query(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total)
         SELECT o, repeat('w', 10000), 'CREATED', 1 FROM generate_series(1, 60) AS o`,
      );
    } finally {
      await db.end();
    }
    const outcome = await runOnce(app, 1000);
    assert.equal(outcome.report.acknowledged, 60);
    await assertEachRowOnce(app, range(1, 60));
  });

  test('a database error is named for what it is; "did not answer" is kept for a server that did not answer', async () => {
    const { app } = await scenario();
    const db = outboxConnection(app.config, awsSecretReader(app.config.secrets.region, 5000), app.logger);
    try {
      await assert.rejects(db.query('SELECT 1 / 0'), (err: unknown) => {
        assert.ok(err instanceof SourceQueryError, String(err));
        assert.equal(err.retryable, false);
        assert.match(err.message, /refused the query \(SQLSTATE 22012\): division by zero/);
        return true;
      });
      await assert.rejects(db.query("SELECT 'infinity'::timestamptz::date::text::bigint"), /SQLSTATE 22P02/);
    } finally {
      await db.close();
    }
  });

  test('a stuck source is visible: the lag gauge is updated after a failed run, and a line names the cause', async () => {
    const { config, app, table, lines, lags, logger, metrics } = await scenario();
    const db = await pgClient();
    const holder = await pgClient();
    try {
      await insertRows(db, table, range(1, 5));
      assert.equal((await runOnce(app, 100)).report.acknowledged, 5);
      // An open transaction that wrote a row: rows committed after it wait behind it.
      await holder.query('BEGIN');
      await insertRows(holder, table, [6]);
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [
        { pid: number },
      ];
      await insertRows(db, table, [7]);
      await new Promise((r) => setTimeout(r, 1100));
      const held = await runOnce(app, 100);
      assert.equal(held.report.acknowledged, 0);
      assert.ok(held.lagSeconds !== null && held.lagSeconds >= 1, `lag ${held.lagSeconds}`);
      assert.ok(
        lines.some(
          (l) => l.includes('"message":"events produced"') && l.includes(`transaction of pid ${pid} open for`),
        ),
      );
      // A run that fails before it reads the ledger (a worker whose ledger topic is missing): the gauge
      // still moves, from the position the relay table recorded, and one line names the cause.
      const broken = createApp(
        { ...config, kafka: { ...config.kafka, runsTopic: uniqueName('missing') } },
        { logger, metrics },
      );
      apps.push(broken);
      const before = lags.length;
      await assert.rejects(runOnce(broken, 100), TopicNotFoundError);
      assert.equal(lags.length, before + 1, 'the lag gauge was set after the failed run');
      assert.ok(lags.at(-1)! >= 1);
      const line = lines.find((l) => l.includes('"message":"source run failed; nothing of it was published"'));
      assert.ok(line, 'a line names the failure');
      assert.match(line, /"cause":"topic \S+ does not exist/);
      assert.match(line, new RegExp(`"heldBy":"transaction of pid ${pid} open for`));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await Promise.allSettled([db.end(), holder.end()]);
    }
  });
});
