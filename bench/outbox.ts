// npm run bench:outbox -- [--rows 100000] [--repeats 3] [--clients kafkajs,librdkafka]
// Outbox rows/s against the generator's events/s, through the same engine on the same backend,
// side by side in one run (ratios, since this machine is shared). Each measurement is one run in
// fresh topics (and, for the outbox, a fresh table filled beforehand, not timed). Writes
// bench/results/outbox.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import pg from 'pg';
import { createApp, type App } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config/index.ts';
import { ensureTopics } from '../src/kafka/topics.ts';
import { producerTopics } from '../src/run-ledger/topic.ts';
import { kafkaFor } from '../src/kafka/kafkajs-client.ts';
import { createLogger } from '../src/logger.ts';
import { initOutbox } from '../src/sources/outbox/init.ts';
import { outboxTable } from '../src/sources/outbox/table.ts';
import { benchFollow } from './follow.ts';

const CLIENTS = ['kafkajs', 'librdkafka'] as const;
type Client = (typeof CLIENTS)[number];
const opts = new Command('bench:outbox')
  .option('--rows <n>', 'rows (events) per measurement', (v) => Number.parseInt(v, 10), 100_000)
  .option('--repeats <n>', 'measurements per source and backend', (v) => Number.parseInt(v, 10), 3)
  .option('--clients <list>', 'backends (comma list of kafkajs, librdkafka)', CLIENTS.join(','))
  .option(
    '--only <part>',
    'runs (scheduled runs against the generator) or follow (the following relay against Debezium)',
  )
  .option('--rate <n>', 'follow: rows/s the writers commit', (v) => Number.parseInt(v, 10), 1000)
  .option('--seconds <n>', 'follow: seconds of the latency stream', (v) => Number.parseInt(v, 10), 60)
  .option(
    '--kill-seconds <n>',
    'follow: seconds of the stream the relay is killed -9 in',
    (v) => Number.parseInt(v, 10),
    20,
  )
  .option('--drain <n>', 'follow: backlog rows drained', (v) => Number.parseInt(v, 10), 1_000_000)
  .option('--peers <list>', 'follow: relays (kafkajs, librdkafka: ours; debezium)', 'kafkajs,librdkafka,debezium')
  .parse()
  .opts<{
    rows: number;
    repeats: number;
    clients: string;
    only?: string;
    rate: number;
    seconds: number;
    killSeconds: number;
    drain: number;
    peers: string;
  }>();
const clients = CLIENTS.filter((c) => opts.clients.split(',').includes(c));
const logger = createLogger('warn');
const stamp = Date.now().toString(36);
const postgresUrl = process.env['STACK_POSTGRES_URL'];
if (!postgresUrl) throw new Error('STACK_POSTGRES_URL is not set: run through `npm run bench:outbox` (the stack env)');

/** A fresh config (topics, subject, table) for one measurement, with its topics and table created. */
async function fresh(client: Client, source: 'generator' | 'outbox', rep: number): Promise<App> {
  const base = `bench-${source}-${client}-${stamp}-${rep}`;
  const table = base.replace(/[^a-z0-9]/g, '_');
  const config: Config = loadConfig({
    ...process.env,
    KAFKA_CLIENT: client,
    EVENT_SOURCE: source,
    OUTBOX_TABLE: table,
    KAFKA_TOPIC: base,
    KAFKA_DLQ_TOPIC: `${base}.dlq`,
    KAFKA_RUNS_TOPIC: `${base}.runs`,
    REGISTRY_SUBJECT: `${base}-value`,
  });
  const app = createApp(config, { logger });
  const kafka = kafkaFor(config.kafka, await app.credentials.kafka(), logger);
  await ensureTopics(kafka, producerTopics(config.kafka), 30_000);
  if (source === 'outbox') await fillOutbox(config, opts.rows);
  return app;
}

/** The outbox as `outbox init` makes it (table, publication, slot), then its rows in one transaction. */
async function fillOutbox(config: Config, rows: number): Promise<void> {
  const db = new pg.Client({ connectionString: postgresUrl });
  await db.connect();
  try {
    const { outbox } = config.source;
    const t = outboxTable(outbox.table);
    const query = async <R extends Record<string, unknown>>(sql: string, params?: unknown[]) =>
      (await db.query<R>(sql, params)).rows;
    await initOutbox({ query }, t, { topic: config.kafka.topic, source: outbox.name }, outbox.slot);
    await db.query(
      `INSERT INTO ${t.table} (order_id, customer_id, order_status, order_total)
       SELECT 1000000 + i, 'cust_' || (1000 + i), (ARRAY['CREATED','CONFIRMED','SHIPPED'])[1 + i % 3], 50 + i * 10.5
         FROM generate_series(0, $1::int - 1) AS i`,
      [rows],
    );
    await db.query(`ANALYZE ${t.table}`);
  } finally {
    await db.end();
  }
}

/** A measurement's slot is dropped after it, so that it keeps no WAL. */
async function dropSlot(slot: string): Promise<void> {
  const db = new pg.Client({ connectionString: postgresUrl });
  await db.connect();
  try {
    await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  } finally {
    await db.end();
  }
}

/** One run through the engine; events (rows) per second of the whole run. */
async function measure(client: Client, source: 'generator' | 'outbox', rep: number): Promise<number> {
  const app = await fresh(client, source, rep);
  try {
    const run = { workflowId: `bench-${rep}`, runId: 'bench', attempt: 1 };
    const started = performance.now();
    // The same engine call for both sources: only the source differs.
    const outcome = await app.engine.produceRun({
      source: app.source,
      eventCount: opts.rows,
      nominalTimeMs: Date.now(),
      origin: { workflow: `bench-${stamp}-${rep}` },
      run,
      transactionTimeoutMs: 600_000,
    });
    if (outcome.report.acknowledged !== opts.rows) {
      throw new Error(`${source} run published ${outcome.report.acknowledged} of ${opts.rows}`);
    }
    return opts.rows / ((performance.now() - started) / 1000);
  } finally {
    await app.close();
    if (source === 'outbox') await dropSlot(app.config.source.outbox.slot);
  }
}

if (opts.only === 'follow') {
  await follow();
  process.exit(0);
}

async function follow(): Promise<void> {
  await benchFollow({
    rate: opts.rate,
    seconds: opts.seconds,
    killSeconds: opts.killSeconds,
    drain: opts.drain,
    peers: opts.peers.split(','),
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: { client: Client; generator: number; outbox: number; ratio: number }[] = [];
for (const client of clients) {
  const samples = { generator: [] as number[], outbox: [] as number[] };
  // Interleaved, so a noisy minute on the shared machine hits both sources alike.
  for (let rep = 0; rep < opts.repeats; rep++) {
    samples.generator.push(await measure(client, 'generator', rep));
    samples.outbox.push(await measure(client, 'outbox', rep));
    console.error(
      `[bench:outbox] ${client} #${rep}: generator ${Math.round(samples.generator.at(-1)!)}/s, outbox ${Math.round(samples.outbox.at(-1)!)}/s`,
    );
  }
  const generator = median(samples.generator);
  const outbox = median(samples.outbox);
  rows.push({ client, generator, outbox, ratio: outbox / generator });
}

const out = fileURLToPath(new URL('results', import.meta.url));
mkdirSync(out, { recursive: true });
const at = new Date().toISOString();
writeFileSync(
  `${out}/outbox.json`,
  `${JSON.stringify({ at, rows: opts.rows, repeats: opts.repeats, results: rows }, null, 2)}\n`,
);
const table = [
  `Outbox against the generator, ${opts.rows} events per run, median of ${opts.repeats} (${at})`,
  '',
  '| backend | generator events/s | outbox rows/s | outbox ÷ generator |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.client} | ${Math.round(r.generator)} | ${Math.round(r.outbox)} | ${r.ratio.toFixed(2)} |`),
].join('\n');
writeFileSync(`${out}/outbox.md`, `${table}\n`);
console.log(table);

if (opts.only !== 'runs') await follow();
