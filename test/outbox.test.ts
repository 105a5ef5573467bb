// The PostgreSQL outbox source through the real engine, against the stack's real PostgreSQL and
// broker: position chains, out-of-order commits, two runs of one source at once, dead letters
// with row ids, a frozen database, and the guard against a lost ledger position. Each scenario
// counts its rows by order_id with a read_committed consumer: every row exactly once, none skipped.
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { createApp, type App } from '../src/app.ts';
import { noMetrics, type ProducerMetrics } from '../src/telemetry/metrics.ts';
import type { DeadLetter } from '../src/dlq/envelope.ts';
import {
  LedgerError,
  SourcePositionError,
  SourceQueryError,
  SourceUnavailableError,
  TransientError,
} from '../src/errors.ts';
import pg from 'pg';
import { outboxDdl, outboxTable } from '../src/sources/outbox/table.ts';
import { parsePosition } from '../src/sources/outbox/position.ts';
import type { CursorSource } from '../src/sources/contract.ts';
import { checkPosition, createSlot, walOrigin } from '../src/sources/outbox/slot.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { outboxConnection } from '../src/sources/index.ts';
import { captureLogger, createTopicsFor, putSecret, readDecoded, setTopicSettings, testApp } from './support/app.ts';
import { describeEachKafkaClient } from './support/kafka-clients.ts';
import {
  assertEachRowOnce,
  insertMany,
  insertRows,
  outboxConfig,
  pgClient,
  publishOnce,
  queryOn,
  range,
} from './support/outbox.ts';
import { startSecondPostgres } from './support/second-postgres.ts';
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

/** Records in partition and offset order. */
const inOffsetOrder = <T extends { partition: number; offset: string }>(records: T[]): T[] =>
  [...records].sort((x, y) => x.partition - y.partition || Number(BigInt(x.offset) - BigInt(y.offset)));

/** The slot's confirmed position, as the server has it. */
async function confirmedLsn(app: App): Promise<string> {
  const db = await pgClient();
  try {
    const { rows } = await db.query<{ lsn: string }>(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [app.config.source.outbox.slot],
    );
    return rows[0]!.lsn;
  } finally {
    await db.end();
  }
}

/** A run of the app's source that stops after `rows` events until released (its transaction left open). */
function holdAfter(app: App, rows: number) {
  const source = app.source;
  assert.ok(source.kind === 'cursor');
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const reachedP = new Promise<void>((r) => (reached = r));
  const held: CursorSource = {
    ...source,
    async read(from, limits) {
      const read = await source.read(from, limits);
      async function* events() {
        let n = 0;
        for await (const event of read.events) {
          if (n++ === rows) {
            reached();
            await released;
          }
          yield event;
        }
      }
      return { ...read, events: events() };
    },
  };
  const run = app.engine.produceRun({
    source: held,
    eventCount: 15_000,
    nominalTimeMs: Date.now(),
    run: { workflowId: uniqueName('wf-held'), runId: 'run', attempt: 1 },
    transactionTimeoutMs: 60_000,
  });
  run.catch(() => undefined);
  return { run, reached: reachedP, release };
}

/** One run of the app's outbox source through the engine. */
const runOnce = (app: App, maxEvents: number) => publishOnce(app, maxEvents);

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
      assert.notEqual(idle.to, third.to, 'an idle run moves the position past its heartbeat');
      assert.equal(await confirmedLsn(app), parsePosition(idle.to)!.lsn, 'and the slot is confirmed there');
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

  test('commit order per key: ids taken early, a run while a writer is open, rollbacks and savepoints', async () => {
    const { app, config, table } = await scenario();
    const [a, b] = [await pgClient(), await pgClient()];
    try {
      // A takes its transaction id first (a write elsewhere), B then writes order 4242 CREATED and
      // commits, A writes 4242 SHIPPED and commits: consumers must see CREATED, then SHIPPED.
      await a.query('BEGIN');
      await a.query('SELECT pg_current_xact_id()');
      await a.query(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total) VALUES (1, 'c', 'CREATED', 1)`,
      );
      await b.query(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total) VALUES (4242, 'c', 'CREATED', 1)`,
      );
      const during = await runOnce(app, 100);
      assert.equal(during.report.acknowledged, 1, "B's row is published while A is still open: nothing holds it back");
      await a.query(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total) VALUES (4242, 'c', 'SHIPPED', 1)`,
      );
      await a.query('COMMIT');
      // A rolled-back transaction and a rolled-back savepoint publish nothing.
      await b.query('BEGIN');
      await insertRows(b, table, [2]);
      await b.query('ROLLBACK');
      await b.query('BEGIN');
      await insertRows(b, table, [3]);
      await b.query('SAVEPOINT s');
      await insertRows(b, table, [4]);
      await b.query('ROLLBACK TO SAVEPOINT s');
      await insertRows(b, table, [5]);
      await b.query('COMMIT');
      const after = await runOnce(app, 100);
      assert.equal(after.report.acknowledged, 4);
      const seen = inOffsetOrder(await readDecoded<OrderEvent>(app, config.kafka.topic));
      const order = seen.filter((r) => Number(r.decoded.order_id) === 4242).map((r) => r.decoded.order_status);
      assert.deepEqual(order, ['CREATED', 'SHIPPED'], 'per-key commit order');
      const others = seen.filter((r) => Number(r.decoded.order_id) !== 4242).map((r) => Number(r.decoded.order_id));
      assert.deepEqual(others.sort(), [1, 3, 5], 'no row of a rolled-back transaction or savepoint');
    } finally {
      await Promise.allSettled([a.query('ROLLBACK'), b.query('ROLLBACK')]);
      await Promise.allSettled([a.end(), b.end()]);
    }
  });

  test('one transaction of 50,000 rows over several runs: each stops inside it and the next goes on, every row once, in insert order', async () => {
    const { app, config, table } = await scenario({ OUTBOX_PAGE_ROWS: '5000' });
    const db = await pgClient();
    try {
      await insertRows(db, table, [1]);
      await insertRows(db, table, range(10, 50_000));
    } finally {
      await db.end();
    }
    const counts: number[] = [];
    let last: string | undefined;
    for (let i = 0; i < 4; i++) {
      const run = await runOnce(app, 20_000);
      counts.push(run.report.acknowledged);
      last = run.to;
      if (i === 0) assert.ok(parsePosition(run.to)!.inside, 'the first run stopped inside the transaction');
    }
    assert.deepEqual(counts, [20_000, 20_000, 10_001, 0]);
    assert.equal(parsePosition(last)!.inside, undefined, 'the last run finished it');
    const records = inOffsetOrder(await readDecoded<OrderEvent>(app, config.kafka.topic, { timeoutMs: 60_000 }));
    const byPartition = new Map<number, number[]>();
    for (const r of records)
      byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), Number(r.decoded.order_id)]);
    for (const [partition, ids] of byPartition) {
      assert.ok(
        ids.every((id, k) => k === 0 || id > ids[k - 1]!),
        `partition ${partition}: rows in insert order`,
      );
    }
    await assertEachRowOnce(app, [1, ...range(10, 50_000)]);
  });

  test('two runs of one source at once (two producers): one is fenced, no row is published twice, none skipped', async () => {
    const { config, app, table, lines } = await scenario({ KAFKA_BATCH_MAX_MESSAGES: '200' });
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
    // The first run is held after 1,000 rows (its transaction open, batches sent) until the second
    // has fenced it and committed: the overlap does not depend on how fast either one is.
    const held = holdAfter(app, 1000);
    const first = held.run.then(
      () => assert.fail(`the overtaken run committed; its log:\n${lines.join('\n')}`),
      (err: unknown) => err,
    );
    await held.reached;
    await midSend(config); // the first run's records are in flight: the second fences it
    const second = await runOnce(other, 15_000);
    held.release();
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
        /holds no position for source outbox:ob_\S+ on \S+, but \S+_relay says it published rows up to [0-9A-F]+\/[0-9A-F]+/,
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

  test('a database error is named for what it is; "did not answer" is kept for a server that did not answer', async () => {
    const { app } = await scenario();
    const db = outboxConnection(app);
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

  test('the slot advanced by hand: refused, naming the rows at risk, nothing published; adopt-slot goes on from the slot', async () => {
    const { config, app, table, lines, lags, logger, metrics } = await scenario();
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 5));
      assert.equal((await runOnce(app, 100)).report.acknowledged, 5);
      await insertRows(db, table, range(6, 5)); // then someone confirms them away
      await db.query(`SELECT pg_replication_slot_advance($1, pg_current_wal_flush_lsn())`, [config.source.outbox.slot]);
      await insertRows(db, table, range(11, 5));
      const before = lags.length;
      await assert.rejects(runOnce(app, 100), (err: unknown) => {
        assert.ok(err instanceof SourcePositionError, String(err));
        assert.equal(err.retryable, false);
        assert.match(err.message, /is confirmed up to \S+, past the last position this relay published/);
        assert.match(err.message, /rows of \S+ committed after \d{4}-\d\d-\d\dT/);
        return true;
      });
      assert.equal(lags.length, before + 1, 'the lag gauge is set after the failed run');
      assert.ok(
        lines.some(
          (l) => l.includes('source run failed; nothing of it was published') && l.includes('SourcePositionError'),
        ),
      );
      // The operator accepts the gap: the relay goes on from the slot; rows 6-10 are theirs to publish.
      const adopting = createApp(config, { logger, metrics, adoptSlot: true });
      apps.push(adopting);
      assert.equal((await publishOnce(adopting, 0)).report.acknowledged, 0, 'adopt-slot records the position only');
      assert.equal((await runOnce(app, 100)).report.acknowledged, 5);
      await assertEachRowOnce(app, [...range(1, 5), ...range(11, 5)]);
    } finally {
      await db.end();
    }
  });

  test('the slot dropped: refused with the way back (init, adopt-slot); a position of another database is refused too', async () => {
    const { config, app, table } = await scenario();
    const db = await pgClient();
    try {
      await insertRows(db, table, range(1, 3));
      const first = await runOnce(app, 100);
      await db.query('SELECT pg_drop_replication_slot($1)', [config.source.outbox.slot]);
      await assert.rejects(runOnce(app, 100), (err: unknown) => {
        assert.ok(err instanceof SourcePositionError, String(err));
        assert.match(err.message, /replication slot \S+ does not exist .*npm run outbox -- init.*adopt-slot/s);
        return true;
      });
      // A position recorded on another cluster (its system identifier) or timeline: never read as "nothing new".
      const origin = await walOrigin(
        { query: async (sql, p) => (await db.query(sql, p)).rows as never },
        config.source.outbox.slot,
      );
      const slot = { confirmed: '0/0', retainedBytes: 0, walStatus: 'reserved' };
      const recorded = parsePosition(first.to)!;
      assert.throws(() => checkPosition({ ...recorded, system: '1' }, origin, slot, table), /another cluster/);
      assert.throws(() => checkPosition({ ...recorded, timeline: 2 }, origin, slot, table), /a new timeline/);
      assert.throws(() => checkPosition({ ...recorded, database: 'other' }, origin, slot, table), /another database/);
      assert.doesNotThrow(() => checkPosition(recorded, origin, slot, table));
    } finally {
      await db.end();
    }
  });

  test('a position from another cluster (a second data directory): refused naming both; adopt-slot goes on there', async () => {
    const { config, app, table, logger } = await scenario();
    await insertMany(table, range(1, 3));
    assert.equal((await runOnce(app, 100)).report.acknowledged, 3);
    const second = await startSecondPostgres();
    try {
      // The same table and slot names on the other cluster, made as `outbox init` makes them.
      const db = new pg.Client(second.secret);
      await db.connect();
      const t = outboxTable(config.source.outbox.table);
      try {
        for (const statement of outboxDdl(t)) await db.query(statement);
        await createSlot(queryOn(db), t, config.source.outbox.slot);
        await insertRows(db, t.table, range(11, 2));
      } finally {
        await db.end();
      }
      const secretName = uniqueName('pg-second');
      await putSecret(secretName, second.secret);
      const moved = { ...config, source: { ...config.source, outbox: { ...config.source.outbox, secretName } } };
      const there = createApp(moved, { logger });
      apps.push(there);
      await assert.rejects(runOnce(there, 100), (err: unknown) => {
        assert.ok(err instanceof SourcePositionError, String(err));
        assert.match(
          err.message,
          /recorded on system \d+, .* but the outbox is now on system \d+, .*\(another cluster\)/,
        );
        return true;
      });
      assert.equal((await readDecoded(app, config.kafka.topic)).length, 3, 'nothing published from the other cluster');
      const adopting = createApp(moved, { logger, adoptSlot: true });
      apps.push(adopting);
      await publishOnce(adopting, 0);
      assert.equal((await runOnce(there, 100)).report.acknowledged, 2, 'the rows after the slot there');
      await assertEachRowOnce(app, [...range(1, 3), ...range(11, 2)]);
    } finally {
      await Promise.allSettled(apps.splice(apps.length - 2).map((a) => a.close()));
      await second.stop();
    }
  });
});

test('an idle relay keeps its retained WAL flat while the database writes elsewhere (the source alone: one backend)', async () => {
  const { config, app } = await scenario();
  const db = await pgClient();
  const lsnNow = async () => (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
  const restartOf = async (slot: string) =>
    (
      await db.query<{ l: string }>('SELECT restart_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ])
    ).rows[0]!.l;
  const behind = async (a: string, b: string) =>
    Number((await db.query<{ d: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS d', [a, b])).rows[0]!.d);
  const idle = `${config.source.outbox.slot.slice(0, 50)}_idle`;
  try {
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [idle]); // nobody moves it
    const start = await lsnNow();
    const churn = `${config.source.outbox.table}_churn`;
    await db.query(`CREATE TABLE ${churn} (x text)`); // logged: its writes are WAL
    // About 75 s of writes to another table, a relay run every few seconds, the WAL's end noted each time.
    const marks: { at: number; lsn: string }[] = [];
    for (let i = 0; i < 24; i++) {
      await db.query(`INSERT INTO ${churn} SELECT repeat('w', 1000) FROM generate_series(1, 5000)`);
      marks.push({ at: Date.now(), lsn: await lsnNow() });
      assert.equal((await runOnce(app, 100)).report.acknowledged, 0);
      await new Promise((r) => setTimeout(r, 2500));
    }
    await runOnce(app, 100);
    const end = await lsnNow();
    // A confirmed slot's restart position moves only to a point where PostgreSQL logged the running
    // transactions (every 15 s while the WAL moves), and to the one before the latest the relay read:
    // it trails by up to about two intervals, however long the outbox stays idle. 40 s bounds that.
    const recent = marks.filter((m) => m.at <= Date.now() - 40_000).at(-1)!;
    const [mine, theirs] = [await restartOf(config.source.outbox.slot), await restartOf(idle)];
    assert.ok((await behind(end, theirs)) > 90_000_000, 'the unmoved slot keeps everything written');
    assert.ok((await behind(theirs, start)) <= 0, 'the unmoved slot did not move');
    assert.ok(
      (await behind(mine, recent.lsn)) >= 0,
      `the relay's slot keeps only the last ~40 s of WAL: its restart ${mine}, the WAL 40 s ago ${recent.lsn}, ` +
        `${await behind(end, mine)} of ${await behind(end, theirs)} bytes retained`,
    );
  } finally {
    await db.query('SELECT pg_drop_replication_slot($1)', [idle]).catch(() => undefined);
    await db.query(`DROP TABLE IF EXISTS ${config.source.outbox.table}_churn`);
    await db.end();
  }
});

test('on a server that does not wait for commits (synchronous_commit off), every idle run still reads its heartbeat (one backend)', async () => {
  const db = await pgClient();
  const role = (await db.query<{ role: string }>('SELECT current_user AS role')).rows[0]!.role;
  // The role's default, as a server tuned for throughput may have it: every new session of the relay gets it.
  await db.query(`ALTER ROLE ${role} SET synchronous_commit = off`);
  try {
    const probe = await pgClient();
    const shown = (await probe.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0];
    await probe.end();
    assert.equal(shown?.synchronous_commit, 'off', "a new session of the relay's role does not wait for commits");
    const { app, table } = await scenario();
    await insertRows(db, table, [1]);
    let last = (await runOnce(app, 10)).to;
    for (let i = 0; i < 5; i++) {
      const idle = await runOnce(app, 10);
      assert.equal(idle.report.acknowledged, 0);
      // Unflushed, the heartbeat's commit would lie past the WAL the run reads, and the position would not move.
      assert.notEqual(idle.to, last, `idle run ${i + 1} moved the position past its heartbeat`);
      assert.equal(await confirmedLsn(app), parsePosition(idle.to)!.lsn);
      last = idle.to;
    }
    await assertEachRowOnce(app, [1]);
  } finally {
    await db.query(`ALTER ROLE ${role} RESET synchronous_commit`);
    await db.end();
  }
});
