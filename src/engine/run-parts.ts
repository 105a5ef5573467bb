// What every run of the engine shares: its long-lived parts, the per-run lookups, and the clock
// that says where a try's time went.
import type { Config } from '../config/index.ts';
import type { TransactionOptions } from '../kafka/backend.ts';
import type { EventProducer } from '../kafka/producer.ts';
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
  schemaIds: SchemaIds;
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  logger: Logger;
  metrics?: ProducerMetrics;
  /** The wall clock, for dead letters' `failed_at` (durations use the monotonic clock). */
  now?: () => number;
}

/** The engine's long-lived parts, shared by every run. */
export interface Parts extends EngineDeps {
  metrics: ProducerMetrics;
  encode: BatchEncoder;
  observe: TransactionOptions['observe'];
}

/** A run's transaction: `transactionalId` fences every earlier producer with it. */
export function transactionOptions(
  parts: Parts,
  transactionalId: string,
  request: { transactionTimeoutMs: number; throwIfCancelled?: () => void },
): TransactionOptions {
  return {
    transactionalId,
    timeoutMs: request.transactionTimeoutMs,
    observe: parts.observe,
    ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
  };
}

/** What encoding needs, looked up once per run. */
export type RunLookups = Omit<EncodeContext, 'run' | 'headers' | 'sourceIdOf' | 'problemOf'>;

/** The schema ids and partition counts every run needs first (none of it decides anything). */
export async function lookups(parts: Parts): Promise<RunLookups> {
  const { config, schemaIds } = parts;
  const [schemaId, dlqSchemaId] = await Promise.all([
    schemaIds.idFor(config.subject, parts.orderEventSchema.text),
    schemaIds.idFor(config.dlqSubject, parts.deadLetterSchema.text),
  ]);
  const { producer } = parts;
  const partitions = await producer.partitionCounts([config.topic, config.dlqTopic, config.runsTopic]);
  const [events, dlq] = await Promise.all([producer.topicLimits(config.topic), producer.topicLimits(config.dlqTopic)]);
  return { schemaId, dlqSchemaId, partitions, limits: { events, dlq } };
}

/**
 * A try's time per step, in ms: `open` (the producer: connect, register the transactional id,
 * begin), `check` (the run ledger), `produce` (encode and send), `commit` (the commit and close).
 */
export type Step = 'open' | 'check' | 'produce' | 'commit';
export interface StepClock {
  mark(step: Step): void;
  readonly ms: Partial<Record<Step, number>>;
}

export function stepClock(): StepClock {
  let last = performance.now();
  const ms: Partial<Record<Step, number>> = {};
  return {
    ms,
    mark(step) {
      const now = performance.now();
      ms[step] = Math.round((now - last) * 10) / 10;
      last = now;
    },
  };
}
