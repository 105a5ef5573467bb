// Two of the benchmark's producers, run in a child process each:
//   ours  - the whole produce path (generate, validate, encode, send in a transaction, commit)
//   floor - avsc toBuffer + wire-format prefix + kafkajs sendBatch in a plain loop, same settings
// argv[2] is a JSON object: { mode, topic, warmupTopic, events, warmup }. Prints one JSON line.
import { CompressionTypes, Kafka, Partitioners } from 'kafkajs';
import { orderEventsForRun } from '../../src/activities/order-events-source.ts';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { kafkaClientConfig } from '../../src/kafka/client.ts';
import { registerSnappyCodec } from '../../src/kafka/snappy-codec.ts';
import { createLogger } from '../../src/logger.ts';
import { createOrderEventSender } from '../../src/order-event-sender.ts';
import { encodeWireFormat } from '../../src/schema/wire-format.ts';

interface Args {
  mode: 'ours' | 'floor';
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
  const senderFor = (topic: string) =>
    createOrderEventSender({
      config: { ...config.kafka, topic, subject: config.registry.subject, dlqSubject: config.registry.dlqSubject },
      producer: app.producer,
      schemaIds: app.schemaIds,
      orderEventSchema: app.orderEventSchema,
      deadLetterSchema: app.deadLetterSchema,
      logger,
    });
  // Long-lived clients are connected and the schema ids cached before timing, as in a warm worker.
  await app.producer.partitionCounts([args.topic, args.warmupTopic, config.kafka.dlqTopic]);
  await senderFor(args.warmupTopic).send({ events: orderEventsForRun(nominal, args.warmup) });
  const sender = senderFor(args.topic);
  return measure(async () => {
    const report = await sender.send({ events: orderEventsForRun(nominal, args.events) });
    if (report.acknowledged !== args.events) throw new Error(`acknowledged ${report.acknowledged}`);
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
    for (const e of orderEventsForRun(nominal, count)) {
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

const result = args.mode === 'ours' ? await ours() : await floor();
await app.close();
console.log(JSON.stringify(result));
