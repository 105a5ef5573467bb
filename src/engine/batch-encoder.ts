// One event into a batch: validated against the OrderEvent schema, encoded in the Confluent wire
// format and partitioned by order_id, or dead-lettered with a typed reason when it cannot be sent.
import { DeadLetterReason, deadLetter, type DeadLetterFailure, type RunAttempt } from '../dlq/envelope.ts';
import type { OutgoingMessage } from '../kafka/backend.ts';
import { partitionForKey } from '../kafka/partitioner.ts';
import type { Logger } from '../logger.ts';
import type { LoadedSchema, OrderEvent } from '../schema/order-event.ts';
import { validate } from '../schema/validate.ts';
import { encodeWireFormat } from '../schema/wire-format.ts';

/** Records bound for the events topic, the dead-letter topic and (last batch only) the ledger. */
export interface Batch {
  events: OutgoingMessage[];
  /** How many of `events` go to each partition of the events topic (counted as they are added). */
  eventsPerPartition: number[];
  deadLetters: OutgoingMessage[];
  ledger?: OutgoingMessage;
  bytes: number;
}

export const emptyBatch = (): Batch => ({ events: [], eventsPerPartition: [], deadLetters: [], bytes: 0 });

/** What encoding a run's events needs, looked up once per run. */
export interface EncodeContext {
  schemaId: number;
  dlqSchemaId: number;
  /** Partition counts of the events and dead-letter topics. */
  partitions: Map<string, number>;
  run?: RunAttempt;
  /** The transaction span's trace context, carried by every record. */
  headers?: Record<string, string>;
  /** How a cursor source names an event (an outbox row id): its dead letter carries it. */
  sourceIdOf?: (event: unknown) => string | undefined;
}

/** The dead letter's header naming the source's id of the event (an outbox row's id). */
export const SOURCE_ID_HEADER = 'source_id';

interface BatchEncoderDeps {
  config: { topic: string; dlqTopic: string; maxMessageBytes: number };
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  logger: Logger;
  now: () => number;
}

export type BatchEncoder = (batch: Batch, event: unknown, context: EncodeContext) => void;

export function createBatchEncoder(deps: BatchEncoderDeps): BatchEncoder {
  const { config, logger } = deps;
  const toDeadLetters = (batch: Batch, event: unknown, context: EncodeContext, failure: DeadLetterFailure) => {
    const key = orderKey(event);
    const sourceId = context.sourceIdOf?.(event);
    const named = sourceId === undefined ? failure : { ...failure, message: `row ${sourceId}: ${failure.message}` };
    const envelope = deadLetter(event, named, config.topic, deps.now(), context.run);
    const value = encodeWireFormat(context.dlqSchemaId, deps.deadLetterSchema.type, envelope);
    const partition = key === null ? 0 : partitionForKey(key, context.partitions.get(config.dlqTopic)!);
    const headers = sourceId === undefined ? context.headers : { ...context.headers, [SOURCE_ID_HEADER]: sourceId };
    batch.deadLetters.push(withHeaders({ key, value, partition }, headers));
    batch.bytes += value.length;
    logger.debug('event dead-lettered', { errorClass: failure.reason, fieldPaths: failure.fieldPaths });
  };

  return (batch, event, context) => {
    const failure = validationFailure(deps.orderEventSchema, event);
    if (failure) return toDeadLetters(batch, event, context, failure);
    const e = event as OrderEvent;
    let value: Buffer;
    try {
      value = encodeWireFormat(context.schemaId, deps.orderEventSchema.type, e);
    } catch (err) {
      return toDeadLetters(batch, event, context, {
        reason: DeadLetterReason.unencodable,
        message: (err as Error).message,
      });
    }
    if (value.length > config.maxMessageBytes) {
      const message = `${value.length} bytes exceeds ${config.maxMessageBytes}`;
      return toDeadLetters(batch, event, context, { reason: DeadLetterReason.tooLarge, message });
    }
    const key = String(e.order_id);
    const partition = partitionForKey(key, context.partitions.get(config.topic)!);
    batch.events.push(withHeaders({ key, value, partition, timestamp: String(e.created_at) }, context.headers));
    batch.eventsPerPartition[partition] = (batch.eventsPerPartition[partition] ?? 0) + 1;
    batch.bytes += value.length + key.length;
  };
}

function validationFailure(schema: LoadedSchema, event: unknown): DeadLetterFailure | undefined {
  const problems = validate(schema.type, event);
  if (problems.length === 0) return undefined;
  return {
    reason: DeadLetterReason.invalid,
    message: problems.map((p) => `${p.path}: ${p.reason}`).join('; '),
    fieldPaths: problems.map((p) => p.path),
  };
}

const withHeaders = (message: OutgoingMessage, headers?: Record<string, string>): OutgoingMessage =>
  headers ? { ...message, headers } : message;

function orderKey(event: unknown): string | null {
  const id = (event as { order_id?: unknown } | null)?.order_id;
  return typeof id === 'number' || typeof id === 'string' || typeof id === 'bigint' ? String(id) : null;
}
