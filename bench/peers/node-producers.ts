// The benchmark's Node producers, run in a child process each:
//   ours             - the whole produce path of a run (fence, ledger check, generate, validate,
//                      encode, send in a transaction, ledger record, commit) on the backend KAFKA_CLIENT picks
//   floor            - avsc + wire-format prefix + kafkajs sendBatch in a plain loop, same settings
//   floor-librdkafka - avsc + wire-format prefix + librdkafka produce() in a plain loop, with the
//                      librdkafka backend's settings (idempotent, acks=all, snappy, errors-only
//                      delivery reports), flushed at the end
// argv[2] is a JSON object: { mode, topic, warmupTopic, events, warmup }. Prints one JSON line.
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, Partitioners } from 'kafkajs';
import { generatorSource, orderEventsForRun } from '../../src/sources/generator.ts';
import { orderIdBase } from '../../src/run-ledger/index.ts';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { kafkaClientConfig } from '../../src/kafka/kafkajs-client.ts';
import { loadLibrdkafka } from '../../src/kafka/librdkafka/load.ts';
import { librdkafkaSettings } from '../../src/kafka/librdkafka/transaction.ts';
import { registerSnappyCodec } from '../../src/kafka/snappy-codec.ts';
import { createLogger } from '../../src/logger.ts';
import { createEngine } from '../../src/engine/index.ts';
import { encodeWireFormat } from '../../src/schema/wire-format.ts';

/** Order ids in a run's block, as a real run's are (their size is what the encoder sees). */
const benchOrderIds = (nominalTimeMs: number) =>
  orderIdBase({ topic: 'bench', origin: { workflow: 'bench' }, nominalTimeMs });

interface Args {
  mode: 'ours' | 'floor' | 'floor-librdkafka';
  topic: string;
  warmupTopic: string;
  events: number;
  warmup: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const config = loadConfig();
const logger = createLogger('warn');
const app = createApp(config, { logger });
const nominal = Date.now();

async function measure(run: () => Promise<void>) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { events: args.events, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function ours() {
  const engineFor = (topic: string) =>
    createEngine({
      config: { ...config.kafka, topic, subject: config.registry.subject, dlqSubject: config.registry.dlqSubject },
      producer: app.producer,
      ledgers: app.ledgers,
      schemaIds: app.schemaIds,
      orderEventSchema: app.orderEventSchema,
      deadLetterSchema: app.deadLetterSchema,
      logger,
    });
  // A run as the activity makes it: its own identity, fenced, ledger-checked, one transaction.
  const runOf = (eventCount: number) => ({
    source: generatorSource,
    eventCount,
    nominalTimeMs: nominal,
    origin: { workflow: `bench-${randomUUID()}` },
    run: { workflowId: 'bench', runId: 'bench', attempt: 1 },
    transactionTimeoutMs: 120_000,
  });
  // Long-lived clients are connected, the ledger read and the schema ids cached before timing, as
  // in a warm worker.
  await app.producer.partitionCounts([args.topic, args.warmupTopic, config.kafka.dlqTopic, config.kafka.runsTopic]);
  await engineFor(args.warmupTopic).produceRun(runOf(args.warmup));
  const engine = engineFor(args.topic);
  return measure(async () => {
    const outcome = await engine.produceRun(runOf(args.events));
    if (outcome.status !== 'produced' || outcome.report.acknowledged !== args.events) {
      throw new Error(`expected ${args.events} events produced, got ${JSON.stringify(outcome)}`);
    }
  });
}

async function floor() {
  registerSnappyCodec();
  const kafka = new Kafka(kafkaClientConfig(config.kafka, await app.credentials.kafka(), logger));
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const schemaId = await app.registry.register(config.registry.subject, app.orderEventSchema.text);
  const type = app.orderEventSchema.type;
  const batch = config.kafka.batchMaxMessages;
  const send = async (topic: string, count: number) => {
    let messages: { key: string; value: Buffer }[] = [];
    for (const e of orderEventsForRun(nominal, count, benchOrderIds(nominal))) {
      messages.push({ key: String(e.order_id), value: encodeWireFormat(schemaId, type, e) });
      if (messages.length === batch) {
        await producer.sendBatch({
          topicMessages: [{ topic, messages }],
          acks: -1,
          compression: CompressionTypes.Snappy,
        });
        messages = [];
      }
    }
    if (messages.length > 0) {
      await producer.sendBatch({
        topicMessages: [{ topic, messages }],
        acks: -1,
        compression: CompressionTypes.Snappy,
      });
    }
  };
  await send(args.warmupTopic, args.warmup);
  const result = await measure(() => send(args.topic, args.events));
  await producer.disconnect();
  return result;
}

async function floorLibrdkafka() {
  const rd = await loadLibrdkafka();
  const settings = librdkafkaSettings(config.kafka, await app.credentials.kafka(), {
    transactionalId: 'unused',
    timeoutMs: 60_000,
  });
  delete settings.global['transactional.id'];
  delete settings.global['transaction.timeout.ms'];
  const producer = new rd.Producer(settings.global, settings.topic);
  const done = (resolve: () => void, reject: (e: Error) => void) => (err: { message: string } | null) =>
    err ? reject(new Error(err.message)) : resolve();
  await new Promise<void>((resolve, reject) => producer.connect({}, done(resolve, reject)));
  producer.setPollInBackground(true);
  let failed: string | undefined;
  producer.on('delivery-report', (err) => (failed ??= err?.message));
  const schemaId = await app.registry.register(config.registry.subject, app.orderEventSchema.text);
  const type = app.orderEventSchema.type;
  const send = async (topic: string, count: number) => {
    for (const e of orderEventsForRun(nominal, count, benchOrderIds(nominal))) {
      const value = encodeWireFormat(schemaId, type, e);
      for (;;) {
        try {
          producer.produce(topic, null, value, String(e.order_id), e.created_at);
          break;
        } catch (err) {
          if ((err as { code?: number }).code !== rd.CODES.ERRORS.ERR__QUEUE_FULL) throw err;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    }
    await new Promise<void>((resolve, reject) => producer.flush(60_000, done(resolve, reject)));
    if (failed) throw new Error(`a record failed: ${failed}`);
  };
  await send(args.warmupTopic, args.warmup);
  const result = await measure(() => send(args.topic, args.events));
  await new Promise((resolve) => producer.disconnect(resolve));
  return result;
}

const result = args.mode === 'ours' ? await ours() : args.mode === 'floor' ? await floor() : await floorLibrdkafka();
await app.close();
console.log(JSON.stringify(result));
