// npm run bench:outbox -- --follow [--rate 1000] [--seconds 60] [--drain 1000000] [--peers ...]
// The following relay against Debezium, side by side in one run, on the same PostgreSQL and broker
// and the same rows (a fresh outbox table and topic per peer):
//   latency  writers commit one-row transactions at a steady rate; a read_committed consumer notes
//            when each row (by order_id, one per row) becomes visible: p50 / p95 / p99 of the gap;
//   kill     the same stream for a while with the relay killed -9 halfway (our worker, or Connect's
//            JVM) and started again: duplicates and losses counted by order_id;
//   drain    a backlog of rows committed while the relay is stopped, then drained: rows/s.
// Writes bench/results/follow.{json,md}.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { followerWorkflowId } from '../src/cli/follow.ts';
import { loadConfig, type Config } from '../src/config/index.ts';
import { ensureTopics } from '../src/kafka/topics.ts';
import { producerTopics } from '../src/run-ledger/topic.ts';
import { kafkaFor } from '../src/kafka/kafkajs-client.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/app.ts';
import { initOutbox } from '../src/sources/outbox/init.ts';
import { outboxTable } from '../src/sources/outbox/table.ts';
import { startDebezium, type DebeziumPeer } from './peers/debezium.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface FollowBenchOptions {
  rate: number;
  seconds: number;
  killSeconds: number;
  drain: number;
  peers: string[];
}

export interface PeerResult {
  peer: string;
  latency: { p50: number; p95: number; p99: number; max: number; rows: number; missing: number };
  kill: { rows: number; duplicates: number; missing: number };
  drain: { rows: number; seconds: number; rowsPerSecond: number };
}

const logger = createLogger('warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through \`npm run bench:outbox\` (the stack env)`);
  return v;
};

/** A read_committed consumer from the topic's start: when each order_id was first seen, and how often. */
async function watch(topic: string) {
  const kafka = new Kafka({ brokers: env('KAFKA_PLAINTEXT_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-follow-${topic}`, maxWaitTimeInMs: 50 });
  const firstSeen = new Map<number, number>();
  let records = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        records++;
        const id = Number(m.key?.toString());
        if (!firstSeen.has(id)) firstSeen.set(id, now);
      }
    },
  });
  return {
    firstSeen,
    records: () => records,
    async until(count: number, timeoutMs: number) {
      const end = Date.now() + timeoutMs;
      while (firstSeen.size < count && Date.now() < end) await sleep(50);
    },
    stop: () => consumer.disconnect(),
  };
}

/** One-row transactions at `rate` rows/s for `seconds`, ids from `first`: each row's commit time. */
async function write(table: string, first: number, rate: number, seconds: number, midway?: () => Promise<void>) {
  const connections = 4;
  const committed = new Map<number, number>();
  const total = rate * seconds;
  const started = performance.now();
  let next = 0;
  let halfway: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const db = new pg.Client({ connectionString: env('STACK_POSTGRES_URL') });
      await db.connect();
      try {
        for (let i = next++; i < total; i = next++) {
          const due = started + (i * 1000) / rate;
          if (due > performance.now()) await sleep(due - performance.now());
          if (midway && i === Math.floor(total / 2)) halfway = midway();
          await db.query(
            `INSERT INTO ${table} (order_id, customer_id, order_status, order_total) VALUES ($1, 'c', 'CREATED', 1)`,
            [first + i],
          );
          committed.set(first + i, Date.now());
        }
      } finally {
        await db.end();
      }
    }),
  );
  await halfway;
  return committed;
}

async function backlog(table: string, first: number, rows: number): Promise<void> {
  const db = new pg.Client({ connectionString: env('STACK_POSTGRES_URL') });
  await db.connect();
  try {
    for (let i = 0; i < rows; i += 10_000) {
      await db.query(
        `INSERT INTO ${table} (order_id, customer_id, order_status, order_total)
         SELECT $1::bigint + g, 'c', 'CREATED', 1 FROM generate_series(0, $2::int - 1) AS g`,
        [first + i, Math.min(10_000, rows - i)],
      );
    }
  } finally {
    await db.end();
  }
}

const percentile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

function latencyOf(committed: Map<number, number>, seen: Map<number, number>) {
  const gaps: number[] = [];
  let missing = 0;
  for (const [id, at] of committed) {
    const s = seen.get(id);
    if (s === undefined) missing++;
    else gaps.push(Math.max(0, s - at));
  }
  gaps.sort((a, b) => a - b);
  return {
    p50: percentile(gaps, 50),
    p95: percentile(gaps, 95),
    p99: percentile(gaps, 99),
    max: gaps.at(-1) ?? NaN,
    rows: gaps.length,
    missing,
  };
}

/** What a relay under measurement must do: start, be killed -9 and come back, stop. */
interface Relay {
  topic: string;
  table: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

async function measure(name: string, relay: Relay, o: FollowBenchOptions): Promise<PeerResult> {
  const seen = await watch(relay.topic);
  try {
    await relay.start();
    // Warm up: the first rows through (connections, metadata, the schema id).
    const warm = await write(relay.table, 1, 100, 2);
    await seen.until(warm.size, 60_000);
    const committed = await write(relay.table, 1_000_000, o.rate, o.seconds);
    await seen.until(seen.firstSeen.size + 0, 0);
    await sleep(5000);
    const latency = latencyOf(committed, seen.firstSeen);
    console.error(`[bench:follow] ${name} latency ${JSON.stringify(latency)}`);
    const killed = await write(relay.table, 2_000_000, o.rate, o.killSeconds, () => relay.kill());
    await seen.until(warm.size + committed.size + killed.size, 120_000);
    await sleep(5000);
    const missing = [...killed.keys()].filter((id) => !seen.firstSeen.has(id)).length;
    // Every record past the first of its row so far (a relay that restarts from an older offset repeats rows).
    const kill = { rows: killed.size, duplicates: seen.records() - seen.firstSeen.size, missing };
    console.error(`[bench:follow] ${name} kill ${JSON.stringify(kill)}`);
    await relay.stop();
    await backlog(relay.table, 10_000_000, o.drain);
    const target = seen.firstSeen.size + o.drain;
    await relay.start();
    await seen.until(target, 900_000);
    // From the backlog's first row visible to its last: the relay's rate, not its start-up.
    let first = Infinity;
    let last = 0;
    for (const [id, at] of seen.firstSeen) {
      if (id < 10_000_000) continue;
      first = Math.min(first, at);
      last = Math.max(last, at);
    }
    const seconds = (last - first) / 1000;
    const drain = { rows: o.drain, seconds, rowsPerSecond: Math.round(o.drain / seconds) };
    console.error(`[bench:follow] ${name} drain ${JSON.stringify(drain)}`);
    if (seen.firstSeen.size < target)
      throw new Error(`${name}: the drain did not finish (${seen.firstSeen.size} of ${target})`);
    return { peer: name, latency, kill, drain };
  } finally {
    await seen.stop();
    await relay.close();
  }
}

/** A fresh outbox (table, publication, slot) and topics for one peer. */
async function freshOutbox(client: string, stamp: string): Promise<Config> {
  const base = `bench-follow-${client}-${stamp}`;
  const config = loadConfig({
    ...process.env,
    ...(client === 'debezium' ? {} : { KAFKA_CLIENT: client }),
    EVENT_SOURCE: 'outbox',
    OUTBOX_TABLE: base.replace(/[^a-z0-9]/g, '_'),
    KAFKA_TOPIC: base,
    KAFKA_DLQ_TOPIC: `${base}.dlq`,
    KAFKA_RUNS_TOPIC: `${base}.runs`,
    REGISTRY_SUBJECT: `${base}-value`,
  });
  const app = createApp(config, { logger });
  try {
    const kafka = kafkaFor(config.kafka, await app.credentials.kafka(), logger);
    await ensureTopics(kafka, producerTopics(config.kafka), 30_000);
    const db = new pg.Client({ connectionString: env('STACK_POSTGRES_URL') });
    await db.connect();
    try {
      const query = async <R extends Record<string, unknown>>(sql: string, params?: unknown[]) =>
        (await db.query<R>(sql, params)).rows;
      const { outbox } = config.source;
      await initOutbox(
        { query },
        outboxTable(outbox.table),
        { topic: config.kafka.topic, source: outbox.name },
        outbox.slot,
      );
    } finally {
      await db.end();
    }
  } finally {
    await app.close();
  }
  return config;
}

/** Our following relay: a worker process and the follower workflow, as `npm run outbox -- follow` runs it. */
async function ourRelay(config: Config, temporal: TemporalClient): Promise<Relay> {
  const taskQueue = `bench-follow-${config.kafka.topic}`;
  const workerEnv = {
    ...process.env,
    KAFKA_CLIENT: config.kafka.client,
    EVENT_SOURCE: 'outbox',
    OUTBOX_TABLE: config.source.outbox.table,
    KAFKA_TOPIC: config.kafka.topic,
    KAFKA_DLQ_TOPIC: config.kafka.dlqTopic,
    KAFKA_RUNS_TOPIC: config.kafka.runsTopic,
    REGISTRY_SUBJECT: config.registry.subject,
  };
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  let worker: WorkerProcess | undefined = await startWorkerProcess(spawn, workerEnv, cwd, taskQueue);
  const workflowId = followerWorkflowId(config.source.name);
  const handle = () => temporal.workflow.getHandle(workflowId);
  return {
    topic: config.kafka.topic,
    table: outboxTable(config.source.outbox.table).table,
    async start() {
      await temporal.workflow.start('followOutboxWorkflow', {
        taskQueue,
        workflowId,
        args: [{ source: config.source.name }],
      });
    },
    async kill() {
      worker?.child.kill('SIGKILL');
      worker = await startWorkerProcess(spawn, workerEnv, cwd, taskQueue);
    },
    async stop() {
      await handle().cancel();
      await handle().result();
    },
    async close() {
      await handle()
        .terminate('bench over')
        .catch(() => undefined);
      await worker?.stop();
      await dropSlot(config.source.outbox.slot);
    },
  };
}

/** Debezium's PostgreSQL connector with its outbox event router, in Kafka Connect standalone. */
async function debeziumRelay(config: Config, stamp: string): Promise<Relay> {
  const t = outboxTable(config.source.outbox.table);
  const table = t.table;
  let peer: DebeziumPeer | undefined;
  const options = {
    postgresUrl: env('STACK_POSTGRES_URL'),
    brokers: env('KAFKA_PLAINTEXT_BROKERS'),
    table: `${t.schema}.${t.name}`,
    topic: config.kafka.topic,
    name: `bench_${stamp}`,
    workDir: fileURLToPath(new URL(`../artifacts/debezium-${stamp}`, import.meta.url)),
  };
  return {
    topic: config.kafka.topic,
    table,
    async start() {
      if (peer) await peer.restart();
      else peer = await startDebezium(options);
    },
    kill: async () => {
      await peer!.kill();
      await sleep(2000);
      await peer!.restart();
    },
    stop: () => peer!.kill(),
    async close() {
      await peer?.stop().catch(() => undefined);
      await dropSlot(config.source.outbox.slot);
    },
  };
}

async function dropSlot(slot: string): Promise<void> {
  const db = new pg.Client({ connectionString: env('STACK_POSTGRES_URL') });
  await db.connect();
  try {
    await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  } finally {
    await db.end();
  }
}

export async function benchFollow(o: FollowBenchOptions): Promise<PeerResult[]> {
  const stamp = Date.now().toString(36);
  const connection = await Connection.connect({ address: env('TEMPORAL_ADDRESS') });
  const temporal = new TemporalClient({ connection });
  const results: PeerResult[] = [];
  try {
    for (const peer of o.peers) {
      const config = await freshOutbox(peer, stamp);
      const relay = peer === 'debezium' ? await debeziumRelay(config, stamp) : await ourRelay(config, temporal);
      results.push(
        await measure(peer === 'debezium' ? 'Debezium 3.6.1 (Connect standalone)' : `ours, ${peer}`, relay, o),
      );
    }
  } finally {
    await connection.close();
  }
  writeResults(o, results);
  return results;
}

function writeResults(o: FollowBenchOptions, results: PeerResult[]): void {
  const out = fileURLToPath(new URL('results', import.meta.url));
  mkdirSync(out, { recursive: true });
  const at = new Date().toISOString();
  writeFileSync(`${out}/follow.json`, `${JSON.stringify({ at, options: o, results }, null, 2)}\n`);
  const table = [
    `Following relay against Debezium (${at}): ${o.rate} rows/s for ${o.seconds} s, one-row transactions; ` +
      `a kill -9 halfway through ${o.killSeconds} s of the same; a backlog of ${o.drain} rows drained`,
    '',
    '| relay | latency p50 ms | p95 ms | p99 ms | max ms | drain rows/s | after kill -9: duplicates | missing |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.peer} | ${r.latency.p50} | ${r.latency.p95} | ${r.latency.p99} | ${r.latency.max} | ` +
        `${r.drain.rowsPerSecond} | ${r.kill.duplicates} | ${r.kill.missing} |`,
    ),
  ].join('\n');
  writeFileSync(`${out}/follow.md`, `${table}\n`);
  console.log(table);
}
