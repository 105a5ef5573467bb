// npm run bench -- [--events 200000] [--repeats 3] [--latency-runs 200] [--only throughput,latency,memory]
// Side-by-side figures in one run on the local stack: throughput of our produce path against the
// tutorial's Python pattern, a bare kafkajs floor and Kafka's Java perf tool; warm-worker run
// latency; worker memory. Writes bench/results/latest.{json,md,png}.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { orderEventsForRun } from '../src/sources/generator.ts';
import { orderIdBase } from '../src/run-ledger/index.ts';
import type { RunSummary } from '../src/activities/types.ts';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { ensureTopics } from '../src/kafka/topics.ts';
import { kafkaFor } from '../src/kafka/kafkajs-client.ts';
import { createLogger } from '../src/logger.ts';
import { encodeWireFormat } from '../src/schema/wire-format.ts';
import { renderChart } from './chart.ts';
import type { Results } from './report.ts';
import { latencyRuns } from './latency.ts';
import { measureMemory } from './memory.ts';

/** Order ids in a run's block, as a real run's are (their size is what the encoder sees). */
const benchOrderIds = (nominalTimeMs: number) =>
  orderIdBase({ topic: 'bench', origin: { workflow: 'bench' }, nominalTimeMs });

const CLIENTS = ['kafkajs', 'librdkafka'] as const;
const ALL_PRODUCERS = ['ours', 'ours-librdkafka', 'floor', 'floor-librdkafka', 'python', 'java'] as const;
type Producer = (typeof ALL_PRODUCERS)[number];
const run = promisify(execFile);
/** A measurement that hangs is killed (and tried once more) rather than holding the whole run. */
const BOUNDED = { timeout: 5 * 60_000, killSignal: 'SIGKILL' } as const;
const root = fileURLToPath(new URL('..', import.meta.url));
const opts = new Command('bench')
  .option('--events <n>', 'events per throughput measurement', (v) => Number.parseInt(v, 10), 200_000)
  .option('--repeats <n>', 'measurements per producer', (v) => Number.parseInt(v, 10), 3)
  .option('--latency-runs <n>', 'workflow runs for latency', (v) => Number.parseInt(v, 10), 200)
  .option('--only <parts>', 'comma list of throughput, latency, memory', 'throughput,latency,memory')
  .option('--clients <list>', 'backends for latency and memory (comma list of kafkajs, librdkafka)', CLIENTS.join(','))
  .option('--cpu-prof <dir>', "write a V8 CPU profile of each Node producer's measurement into <dir>")
  .option(
    '--producers <list>',
    `throughput producers to measure (comma list of ${ALL_PRODUCERS.join(', ')})`,
    ALL_PRODUCERS.join(','),
  )
  .parse()
  .opts<{
    events: number;
    repeats: number;
    latencyRuns: number;
    only: string;
    producers: string;
    clients: string;
    cpuProf?: string;
  }>();
const parts = new Set(opts.only.split(','));
const clients = CLIENTS.filter((c) => opts.clients.split(',').includes(c));

const config = loadConfig();
const logger = createLogger('warn');
const app = createApp(config, { logger });
const creds = await app.credentials.kafka();
const registry = await app.credentials.registry();
const kafka = kafkaFor(config.kafka, creds, logger);
const stamp = Date.now().toString(36);
const PARTITIONS = 6;
const cache = process.env['ORDER_EVENTS_CACHE'] ?? `${process.env['HOME']}/.cache/order-events-stack`;
const venv = `${cache}/confluent-kafka-2.16.1`; // stack/provision.sh python (PY_CONFLUENT_KAFKA_VERSION)

async function freshTopics(...topics: string[]) {
  await ensureTopics(
    kafka,
    topics.map((topic) => ({ topic, partitions: PARTITIONS, replicationFactor: 1 })),
    30_000,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

// The same OrderEvent records everywhere: their mean encoded size sizes the Java tool's records.
const recordBytes = Math.round(
  [...orderEventsForRun(Date.now(), 1000, benchOrderIds(Date.now()))].reduce(
    (n, e) => n + encodeWireFormat(1, app.orderEventSchema.type, e).length,
    0,
  ) / 1000,
);

interface Sample {
  events: number;
  seconds: number;
  cpuSeconds: number;
}

async function ensurePythonVenv() {
  try {
    readFileSync(`${venv}/.complete`);
  } catch {
    await run('bash', ['stack/provision.sh', 'python']);
  }
}

/** One measured producer's topics and warm-up, fresh for each repeat. */
interface Target {
  producer: Producer;
  topic: string;
  warmupTopic: string;
  warmup: number;
}

async function measureOnce(producer: Producer, rep: number): Promise<Sample> {
  try {
    return await measureInFreshTopics(producer, `${rep}`);
  } catch (err) {
    // execFile's error names the command; no secret is on it (the password travels in the environment).
    console.error(
      `[bench] ${producer} #${rep} failed, measuring it once more: ${(err as Error).message.split('\n')[0]}`,
    );
    return measureInFreshTopics(producer, `${rep}-again`);
  }
}

async function measureInFreshTopics(producer: Producer, rep: string): Promise<Sample> {
  const topic = `bench-${producer}-${stamp}-${rep}`;
  const target: Target = {
    producer,
    topic,
    warmupTopic: `${topic}-warmup`,
    warmup: Math.max(1000, Math.floor(opts.events / 10)),
  };
  await freshTopics(target.topic, target.warmupTopic);
  if (producer === 'python') return measurePython(target);
  if (producer === 'java') return measureJava(target);
  return measureNode(target);
}

/** Ours (either backend) and the two Node floors: bench/peers/node-producers.ts in a child process. */
async function measureNode({ producer, topic, warmupTopic, warmup }: Target): Promise<Sample> {
  // Its own dead-letter and ledger topics: the bench needs nothing `npm start` would have created.
  await freshTopics(`${topic}.dlq`);
  await ensureTopics(kafka, [{ topic: `${topic}.runs`, partitions: 1, replicationFactor: 1 }], 30_000);
  const mode = producer === 'ours-librdkafka' ? 'ours' : producer;
  const env = {
    ...process.env,
    REGISTRY_SUBJECT: `${topic}-value`,
    KAFKA_CLIENT: producer === 'ours-librdkafka' ? 'librdkafka' : 'kafkajs',
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_RUNS_TOPIC: `${topic}.runs`,
  };
  const { stdout } = await run(
    process.execPath,
    [
      ...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : []),
      '--import',
      'tsx',
      'bench/peers/node-producers.ts',
      JSON.stringify({ mode, topic, warmupTopic, events: opts.events, warmup }),
    ],
    { env, cwd: root, maxBuffer: 1 << 24, ...BOUNDED },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Sample;
}

/** The tutorial's pattern (confluent-kafka, Python), as bench/peers/tutorial_pattern.py runs it. */
async function measurePython({ topic, warmupTopic, warmup }: Target): Promise<Sample> {
  const { stdout } = await run(
    `${venv}/bin/python`,
    [
      'bench/peers/tutorial_pattern.py',
      ...['--bootstrap', creds.bootstrapServers.join(','), '--username', creds.apiKey],
      ...[
        '--ca',
        config.kafka.caFile ?? '',
        '--registry',
        registry.url,
        '--topic',
        topic,
        '--warmup-topic',
        warmupTopic,
      ],
      ...['--schema', 'schemas/OrderEvent.avsc', '--events', String(opts.events), '--warmup', String(warmup)],
    ],
    { cwd: root, maxBuffer: 1 << 24, env: { ...process.env, BENCH_KAFKA_PASSWORD: creds.apiSecret }, ...BOUNDED },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Sample;
}

/** Kafka's own ProducerPerformance tool (Java), with the same durability settings. */
async function measureJava({ topic, warmup }: Target): Promise<Sample> {
  const props = `${process.env['TMPDIR'] ?? '/tmp'}/bench-java-${stamp}.properties`;
  writeFileSync(
    props,
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=PLAIN',
      `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${creds.apiKey}" password="${creds.apiSecret}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${config.kafka.caFile ?? ''}`,
    ].join('\n'),
    { mode: 0o600 },
  );
  const { stdout, stderr } = await run(
    'python3',
    [
      'bench/peers/cpu_of.py',
      'java',
      '-cp',
      `${process.env['KAFKA_LIBS']}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      ...['--topic', topic, '--num-records', String(opts.events + warmup), '--warmup-records', String(warmup)],
      ...['--record-size', String(recordBytes), '--throughput', '-1', '--command-config', props],
      ...['--command-property', `bootstrap.servers=${creds.bootstrapServers.join(',')}`, 'acks=all'],
      ...['enable.idempotence=true', 'retries=10', 'compression.type=snappy', 'linger.ms=100', 'batch.size=16384'],
    ],
    { cwd: root, maxBuffer: 1 << 24, ...BOUNDED },
  );
  // "... steady state ... N records sent, X records/sec ..." (after the warm-up records).
  const steady =
    stdout.split('\n').find((l) => /steady state records sent/.test(l)) ?? stdout.trim().split('\n').at(-1)!;
  const rate = Number(/([\d.]+) records\/sec/.exec(steady)?.[1]);
  if (!Number.isFinite(rate)) throw new Error(`cannot read the Java tool's output:\n${stdout}`);
  const cpu = (JSON.parse(stderr.trim().split('\n').at(-1)!) as { cpuSeconds: number }).cpuSeconds;
  // CPU is the whole JVM (start-up, warm-up, measured part): scaled to the measured share of records.
  return { events: opts.events, seconds: opts.events / rate, cpuSeconds: (cpu * opts.events) / (opts.events + warmup) };
}

const results: Results & Record<string, unknown> = {
  when: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  settings: { events: opts.events, repeats: opts.repeats, partitions: PARTITIONS, recordBytes, listener: 'SASL_SSL' },
};

if (parts.has('throughput')) {
  const producers = opts.producers.split(',') as Producer[];
  const unknown = producers.filter((p) => !(ALL_PRODUCERS as readonly string[]).includes(p));
  if (unknown.length > 0)
    throw new Error(`--producers: unknown ${unknown.join(', ')} (known: ${ALL_PRODUCERS.join(', ')})`);
  if (producers.includes('python')) await ensurePythonVenv();
  const samples = Object.fromEntries(producers.map((p) => [p, [] as Sample[]])) as Record<Producer, Sample[]>;
  // Interleaved, so a noisy minute hits every producer alike.
  for (let rep = 1; rep <= opts.repeats; rep++) {
    for (const p of producers) {
      const s = await measureOnce(p, rep);
      samples[p].push(s);
      console.error(
        `[bench] ${p} #${rep}: ${Math.round(s.events / s.seconds)} events/s, ${s.cpuSeconds.toFixed(2)} CPU s`,
      );
    }
  }
  const summary = Object.fromEntries(
    producers.map((p) => {
      const rates = samples[p].map((s) => s.events / s.seconds);
      return [
        p,
        {
          eventsPerSec: { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) },
          cpuSeconds: median(samples[p].map((s) => s.cpuSeconds)),
          samples: samples[p],
        },
      ];
    }),
  ) as unknown as Record<Producer, { eventsPerSec: { median: number; min: number; max: number }; cpuSeconds: number }>;
  results['throughput'] = summary;
  const rate = (p: Producer) => summary[p]?.eventsPerSec.median ?? Number.NaN;
  // Ratios against every peer only when every producer was measured (`--producers` picks fewer).
  if (producers.length === ALL_PRODUCERS.length)
    results['ratios'] = {
      kafkajs: {
        overPython: rate('ours') / rate('python'),
        overFloor: rate('ours') / rate('floor'),
        overJava: rate('ours') / rate('java'),
      },
      librdkafka: {
        overPython: rate('ours-librdkafka') / rate('python'),
        overFloor: rate('ours-librdkafka') / rate('floor-librdkafka'),
        overJava: rate('ours-librdkafka') / rate('java'),
      },
    };
}

if (parts.has('latency') || parts.has('memory')) {
  const topic = `bench-runs-${stamp}`;
  await freshTopics(topic, `${topic}.dlq`);
  await ensureTopics(kafka, [{ topic: `${topic}.runs`, partitions: 1, replicationFactor: 1 }], 30_000);
  // Workers load a prebuilt workflow bundle, as `npm start` runs them.
  const bundle = `${root}.stack/build/workflows.bundle.js`;
  await run(process.execPath, ['--import', 'tsx', 'src/cli/bundle-workflows.ts', bundle], { cwd: root });
  const env = {
    ...process.env,
    WORKFLOW_BUNDLE: bundle,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_RUNS_TOPIC: `${topic}.runs`,
    LOG_LEVEL: 'warn',
  };
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // Each backend's worker in turn, on the same topics and server.
  if (parts.has('latency')) {
    const latency: Record<string, unknown> = {};
    for (const c of clients) {
      latency[c] = await latencyRuns({
        client,
        env: { ...env, KAFKA_CLIENT: c },
        runs: opts.latencyRuns,
        percentile,
        cwd: root,
      });
    }
    results['latency'] = latency;
  }
  if (parts.has('memory')) {
    const memory: Record<string, unknown> = {};
    for (const c of clients)
      memory[c] = await measureMemory({ client, env: { ...env, KAFKA_CLIENT: c }, cwd: root, spawn });
    results['memory'] = memory;
  }
  await connection.close();
}

await app.close();
const out = `${root}bench/results`;
// A run of every part and producer is `latest`; a narrower one (--only, --producers, --clients,
// --cpu-prof) is `partial`, so it never overwrites the last full run.
const full =
  parts.size === 3 && opts.producers === ALL_PRODUCERS.join(',') && clients.length === CLIENTS.length && !opts.cpuProf;
const name = full ? 'latest' : 'partial';
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
const markdown = (await import('./report.ts')).toMarkdown(results);
writeFileSync(`${out}/${name}.md`, markdown);
const chart = await renderChart(results, `${out}/${name}.png`);
console.log(markdown);
console.log(`\nwritten: bench/results/${name}.json, ${name}.md${'written' in chart ? `, ${name}.png` : ''}`);
if ('skipped' in chart) console.log(`chart skipped: ${chart.skipped}; the figures above are complete`);
export type { RunSummary };
