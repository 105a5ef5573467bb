// Proves the Debezium peer (bench/peers/debezium.ts) against the running stack:
//   1. a fresh dbz_ table (the outbox's columns) and a fresh 6-partition topic; the peer started;
//      1,000 rows inserted; a read_committed consumer sees every row id exactly once;
//   2. ~1,000 rows/s for 20 s in one-row transactions; Connect killed -9 at ~10 s and restarted
//      2 s later; once the writer has stopped and the stream has settled, duplicates and losses
//      by row id.
// Then the peer stopped (its slot and publication dropped), the table and topic dropped.
//   set -a; source .stack/env; set +a; node --import tsx bench/peers/debezium-smoke.ts [--offset-flush-ms 10000]
// (--offset-flush-ms sets the worker's offset.flush.interval.ms; left out, Connect's default, 60 s.)
// Exits 1 when a row is lost (duplicates after the kill are at-least-once delivery, reported).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import pg from 'pg';
import { rowIdOf, startDebezium, type DebeziumPeer } from './debezium.ts';

const postgresUrl = process.env['STACK_POSTGRES_URL'];
const brokers = process.env['KAFKA_PLAINTEXT_BROKERS'];
if (!postgresUrl || !brokers) throw new Error('STACK_POSTGRES_URL / KAFKA_PLAINTEXT_BROKERS unset: source .stack/env');
const stamp = Date.now().toString(36);
const table = `dbz_smoke_${stamp}`;
const topic = `dbz-smoke-${stamp}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const RATE = 1_000;
const STREAM_MS = 20_000;
const KILL_AT_MS = 10_000;
const RESTART_AFTER_MS = 2_000;
const { values: args } = parseArgs({ options: { 'offset-flush-ms': { type: 'string' } } });
const flushMs = args['offset-flush-ms'];

/** Every record the consumer has seen, counted per row id. */
class Seen {
  counts = new Map<string, number>();
  records = 0;
  withoutId = 0;
  lastAt = Date.now();
  /** When each id was first seen. */
  firstAt = new Map<string, number>();
  sample: string | undefined;
  add(id: string | undefined) {
    this.records++;
    this.lastAt = Date.now();
    if (id !== undefined && !this.firstAt.has(id)) this.firstAt.set(id, this.lastAt);
    if (id === undefined) this.withoutId++;
    else this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }
  tally(ids: Iterable<string>) {
    let lost = 0;
    let duplicates = 0;
    let duplicatedIds = 0;
    for (const id of ids) {
      const n = this.counts.get(id) ?? 0;
      if (n === 0) lost++;
      if (n > 1) {
        duplicates += n - 1;
        duplicatedIds++;
      }
    }
    return { lost, duplicates, duplicatedIds };
  }
}

async function consume(kafka: Kafka, seen: Seen): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `dbz-smoke-${stamp}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.sample ??= JSON.stringify({
        key: message.key?.toString(),
        value: message.value?.toString(),
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString()])),
      });
      seen.add(rowIdOf(message));
    },
  });
  await joined;
  return consumer;
}

/** Until every id is seen and nothing new arrived for `quietMs`: ms until all were seen, and in all. */
async function settle(peer: DebeziumPeer, seen: Seen, ids: Set<string>, quietMs: number, timeoutMs: number) {
  const t0 = Date.now();
  let allSeenMs: number | undefined;
  for (let i = 0; Date.now() - t0 < timeoutMs; i++) {
    const status = i % 10 === 0 ? await peer.status() : undefined;
    if (status?.task === 'FAILED') throw new Error(`Debezium's task FAILED: ${status.trace} (see ${peer.logFile})`);
    const missing = seen.tally(ids).lost;
    if (missing === 0) allSeenMs ??= Date.now() - t0;
    if (missing === 0 && Date.now() - seen.lastAt >= quietMs) break;
    await sleep(100);
  }
  return { allSeenMs, waitedMs: Date.now() - t0 };
}

const insertSql = (t: string, rows: string) =>
  `INSERT INTO ${t} (order_id, customer_id, order_status, order_total)
   SELECT 1000000 + g, 'customer-' || g, 'PLACED', g * 1.5 FROM generate_series(1, ${rows}) g RETURNING id`;

/** ~RATE one-row transactions a second for STREAM_MS, on up to 4 connections; the ids written. */
async function stream(pool: pg.Pool, onTick: (elapsedMs: number) => void, committedAt: Map<string, number>) {
  const ids = new Set<string>();
  const t0 = Date.now();
  let issued = 0;
  const inFlight = new Set<Promise<void>>();
  while (Date.now() - t0 < STREAM_MS) {
    onTick(Date.now() - t0);
    const due = Math.floor(((Date.now() - t0) * RATE) / 1000);
    while (issued < due && inFlight.size < 4) {
      issued++;
      const p = pool
        .query<{ id: string }>(insertSql(table, '1'))
        .then((r) => {
          const id = String(r.rows[0]!.id);
          ids.add(id);
          if (Date.now() - t0 < KILL_AT_MS) committedAt.set(id, Date.now());
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await (inFlight.size >= 4 ? Promise.race(inFlight) : sleep(2));
  }
  await Promise.all(inFlight);
  return ids;
}

async function phaseOne(db: pg.Client, peer: DebeziumPeer, seen: Seen): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(insertSql(table, '1000'));
  const ids = new Set(rows.map((r) => String(r.id)));
  const { allSeenMs } = await settle(peer, seen, ids, 3_000, 60_000);
  const t = seen.tally(ids);
  console.log(
    `phase 1: ${ids.size} rows inserted in one transaction; ${seen.records} records, ${seen.counts.size} distinct ids, ` +
      `${t.duplicates} duplicates, ${t.lost} lost, ${seen.withoutId} without an id header; ` +
      `all seen ${allSeenMs ?? 'never'} ms after the commit`,
  );
  console.log(`sample record: ${seen.sample}`);
  if (t.lost || t.duplicates || seen.withoutId || seen.records !== ids.size)
    throw new Error('phase 1: not exactly once');
  return ids;
}

/** The kill at KILL_AT_MS, the restart RESTART_AFTER_MS later, while the writer goes on. */
function killer(peer: DebeziumPeer): { tick: (ms: number) => void; done: () => Promise<void> } {
  let started: Promise<void> | undefined;
  const run = async () => {
    const t = Date.now();
    const committed = committedOffsets(peer);
    await peer.kill();
    console.log(
      `kill -9 at ~${KILL_AT_MS / 1000} s; slot released ${peer.slotReleasedMs.at(-1)} ms after the JVM exited`,
    );
    await sleep(Math.max(0, RESTART_AFTER_MS - (Date.now() - t)));
    await peer.restart();
    const s = peer.starts.at(-1)!;
    console.log(
      `restarted (pid ${peer.pid}): REST up ${s.restUpMs} ms, RUNNING ${s.runningMs} ms, slot active ${s.slotActiveMs} ms`,
    );
    console.log(`offset commits before the kill: ${committed}; the restart: ${resumedFrom(peer)}`);
  };
  return {
    tick: (ms) => void (ms >= KILL_AT_MS && (started ??= run())),
    done: () => started ?? Promise.resolve(),
  };
}

/** Commit (the INSERT's reply) to first consumed, for the rows written before the kill. */
function latencies(seen: Seen, committedAt: Map<string, number>): string {
  const ms = [...committedAt]
    .map(([id, at]) => (seen.firstAt.get(id) ?? NaN) - at)
    .filter((v) => !Number.isNaN(v))
    .sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN;
  return `${ms.length} rows, commit to consumed p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`;
}

/** Connect's offset commits logged so far (each names its acknowledged records). */
function committedOffsets(peer: DebeziumPeer): number {
  return readFileSync(peer.logFile, 'utf8').match(/Committing offsets for \d+ acknowledged messages/g)?.length ?? 0;
}

/** Whether the last start found stored offsets, from Debezium's log line. */
function resumedFrom(peer: DebeziumPeer): string {
  const log = readFileSync(peer.logFile, 'utf8');
  const found = log.lastIndexOf('Found previous partition offset');
  const none = log.lastIndexOf('No previous offsets found');
  return found > none ? 'resumed from stored offsets' : "no stored offsets: streamed from the slot's confirmed LSN";
}

async function phaseTwo(pool: pg.Pool, peer: DebeziumPeer, seen: Seen, earlier: Set<string>): Promise<boolean> {
  const before = seen.records;
  const k = killer(peer);
  const committedAt = new Map<string, number>();
  const ids = await stream(pool, k.tick, committedAt);
  console.log(`phase 2: ${ids.size} rows written in one-row transactions over ${STREAM_MS / 1000} s`);
  await k.done();
  const { allSeenMs, waitedMs } = await settle(peer, seen, ids, 5_000, 180_000);
  const t = seen.tally(ids);
  console.log(
    `phase 2: ${seen.records - before} records for ${ids.size} rows; ${t.duplicates} duplicates ` +
      `(${t.duplicatedIds} ids more than once), ${t.lost} lost; all seen ${allSeenMs ?? 'never'} ms after the ` +
      `writer and the restart were done (settled: no record for 5 s, ${waitedMs} ms)`,
  );
  console.log(`before the kill: ${latencies(seen, committedAt)}`);
  const again = seen.tally(earlier);
  console.log(`phase 1's ${earlier.size} rows after the restart: ${again.duplicates} sent again, ${again.lost} lost`);
  return t.lost === 0 && again.lost === 0;
}

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'dbz-smoke', brokers: brokers!.split(','), logLevel: logLevel.WARN });
  const admin = kafka.admin();
  const db = new pg.Client({ connectionString: postgresUrl });
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 4 });
  const report = (what: string) => (e: Error) => console.error(`${what}: ${e.message}`);
  db.on('error', report('postgres (smoke connection)'));
  pool.on('error', report('postgres (writer pool)'));
  const seen = new Seen();
  let peer: DebeziumPeer | undefined;
  let consumer: Consumer | undefined;
  let ok = false;
  await Promise.all([admin.connect(), db.connect()]);
  try {
    await db.query(`CREATE TABLE ${table} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      inserted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      order_id bigint, customer_id text, order_status text, order_total double precision,
      created_at timestamptz DEFAULT now())`);
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
    const workDir = mkdtempSync(join(tmpdir(), `dbz-smoke-${stamp}-`));
    console.log(`table ${table}, topic ${topic}, workDir ${workDir}, offset.flush.interval.ms ${flushMs ?? 'default'}`);
    const worker: Record<string, string> = flushMs ? { 'offset.flush.interval.ms': flushMs } : {};
    const name = `smoke_${stamp}`;
    peer = await startDebezium({
      postgresUrl: postgresUrl!,
      brokers: brokers!,
      table: `public.${table}`,
      topic,
      name,
      workDir,
      worker,
    });
    const s = peer.starts[0]!;
    console.log(
      `started (pid ${peer.pid}): REST up ${s.restUpMs} ms, RUNNING ${s.runningMs} ms, slot active ${s.slotActiveMs} ms`,
    );
    consumer = await consume(kafka, seen);
    const earlier = await phaseOne(db, peer, seen);
    ok = await phaseTwo(pool, peer, seen, earlier);
  } finally {
    await consumer?.disconnect();
    await peer?.stop();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.deleteTopics({ topics: [topic] }).catch((e: unknown) => console.error(`delete topic: ${String(e)}`));
    await admin.deleteGroups([`dbz-smoke-${stamp}`]).catch(() => undefined);
    await Promise.all([admin.disconnect(), db.end(), pool.end()]);
  }
  console.log(ok ? 'OK: no row lost' : 'FAILED: rows lost');
  process.exitCode = ok ? 0 : 1;
}

await main();
