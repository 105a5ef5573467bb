// What every run of the engine shares (the engine's context: its dependencies, the batch encoder,
// the metrics), and what each run reads first (the encoding facts: schema ids, partition counts and
// topic limits).
import type { Config } from '../config/index.ts';
import type { TransactionOptions } from '../kafka/backend.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { RunLedgers } from '../run-ledger/ledgers.ts';
import type { Logger } from '../logger.ts';
import type { ProducerMetrics } from '../telemetry/metrics.ts';
import type { LoadedSchema } from '../schema/order-event.ts';
import type { SchemaIds } from '../schema/schema-ids.ts';
import type { BatchEncoder, EncodeContext } from './batch-encoder.ts';

export interface EngineDeps {
  config: Pick<
    Config['kafka'],
    'topic' | 'dlqTopic' | 'runsTopic' | 'batchMaxMessages' | 'batchMaxBytes' | 'maxMessageBytes'
  > &
    Pick<Config['registry'], 'subject' | 'dlqSubject'> & {
      /** Transient Kafka failures a run's transaction is restarted after, before the attempt fails. */
      transactionRestarts: number;
    };
  producer: EventProducer;
  /** The run ledgers, one warm reader per ledger topic. */
  ledgers: Pick<RunLedgers, 'get'>;
  schemaIds: SchemaIds;
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  logger: Logger;
  metrics?: ProducerMetrics;
  /** The wall clock, for dead letters' `failed_at` (durations use the monotonic clock). */
  now?: () => number;
}

/** The engine's context: its dependencies and what it built from them once, shared by every run. */
export interface EngineContext extends EngineDeps {
  metrics: ProducerMetrics;
  encode: BatchEncoder;
  observe: TransactionOptions['observe'];
}

/** A run's transaction: `transactionalId` fences every earlier producer with it. */
export function transactionOptions(
  engine: EngineContext,
  transactionalId: string,
  request: { transactionTimeoutMs: number; throwIfCancelled?: () => void },
): TransactionOptions {
  return {
    transactionalId,
    timeoutMs: request.transactionTimeoutMs,
    observe: engine.observe,
    ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
  };
}

/** What encoding needs, read once per run: schema ids, partition counts, topic limits. */
export type EncodingFacts = Omit<EncodeContext, 'run' | 'headers' | 'sourceIdOf' | 'problemOf'>;

/** The schema ids, partition counts and topic limits every run reads first (none of it decides anything). */
export async function encodingFacts(engine: EngineContext): Promise<EncodingFacts> {
  const { config, schemaIds } = engine;
  const [schemaId, dlqSchemaId] = await Promise.all([
    schemaIds.idFor(config.subject, engine.orderEventSchema.text),
    schemaIds.idFor(config.dlqSubject, engine.deadLetterSchema.text),
  ]);
  const { producer } = engine;
  const partitions = await producer.partitionCounts([config.topic, config.dlqTopic, config.runsTopic]);
  const [events, dlq] = await Promise.all([producer.topicLimits(config.topic), producer.topicLimits(config.dlqTopic)]);
  return { schemaId, dlqSchemaId, partitions, limits: { events, dlq } };
}
