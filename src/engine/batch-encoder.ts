// One event into a batch: validated against the OrderEvent schema, encoded in the Confluent wire
// format and partitioned by order_id, or dead-lettered with a typed reason when it cannot be sent.
import {
  DeadLetterReason,
  deadLetter,
  type DeadLetter,
  type DeadLetterFailure,
  type RunAttempt,
} from '../dlq/envelope.ts';
import type { OutgoingMessage } from '../kafka/backend.ts';
import type { TopicLimits } from '../kafka/event-producer.ts';
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
  /** Where the encoder put the last event it added. */
  lastAdded?: 'event' | 'dead-letter';
}

export const emptyBatch = (): Batch => ({ events: [], eventsPerPartition: [], deadLetters: [], bytes: 0 });

/** What encoding a run's events needs, looked up once per run. */
export interface EncodeContext {
  schemaId: number;
  dlqSchemaId: number;
  /** Partition counts of the events and dead-letter topics. */
  partitions: Map<string, number>;
  /** What the broker checks the events and dead-letter topics' records against. */
  limits: { events: TopicLimits; dlq: TopicLimits };
  run?: RunAttempt;
  /** The transaction span's trace context, carried by every record. */
  headers?: Record<string, string>;
  /** How a cursor source names an event (an outbox row id): its dead letter carries it. */
  sourceIdOf?: (event: unknown) => string | undefined;
  /** Why the source already knows `event` cannot be sent as it is (a row too large to fetch whole, an infinite time). */
  problemOf?: (event: unknown) => DeadLetterFailure | undefined;
}

/**
 * Room for a record's framing in its batch (batch header 61 bytes, the record's varints and
 * attributes) beside its key, value and headers: what max.message.bytes counts besides them.
 */
const RECORD_OVERHEAD_BYTES = 512;

/** A timestamp this close to the edge of the broker's window is refused too: the batch is sent a little later. */
const TIMESTAMP_MARGIN_MS = 60_000;

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
    const headers = sourceId === undefined ? context.headers : { ...context.headers, [SOURCE_ID_HEADER]: sourceId };
    const envelope = deadLetter(event, named, config.topic, deps.now(), context.run);
    const room = context.limits.dlq.maxMessageBytes - RECORD_OVERHEAD_BYTES - (key?.length ?? 0) - headerBytes(headers);
    const value = encodeDeadLetter(context.dlqSchemaId, deps.deadLetterSchema, envelope, room);
    const partition = key === null ? 0 : partitionForKey(key, context.partitions.get(config.dlqTopic)!);
    batch.deadLetters.push(withHeaders({ key, value, partition }, headers));
    batch.bytes += value.length + (key?.length ?? 0);
    batch.lastAdded = 'dead-letter';
    logger.debug('event dead-lettered', { errorClass: failure.reason, fieldPaths: failure.fieldPaths });
  };

  return (batch, event, context) => {
    const failure = context.problemOf?.(event) ?? validationFailure(deps.orderEventSchema, event);
    if (failure) return toDeadLetters(batch, event, context, failure);
    const e = event as OrderEvent;
    const late = timestampFailure(e.created_at, context.limits.events, deps.now());
    if (late) return toDeadLetters(batch, event, context, late);
    let value: Buffer;
    try {
      value = encodeWireFormat(context.schemaId, deps.orderEventSchema.type, e);
    } catch (err) {
      return toDeadLetters(batch, event, context, {
        reason: DeadLetterReason.unencodable,
        message: (err as Error).message,
      });
    }
    const key = String(e.order_id);
    const size = value.length + key.length + headerBytes(context.headers) + RECORD_OVERHEAD_BYTES;
    const topicMax = context.limits.events.maxMessageBytes;
    if (value.length > config.maxMessageBytes || size > topicMax) {
      const message =
        `the record is ${value.length} bytes (${size} with its key, headers and framing); ${config.topic} takes at most ` +
        `${topicMax} (max.message.bytes) and KAFKA_MAX_MESSAGE_BYTES is ${config.maxMessageBytes}`;
      return toDeadLetters(batch, event, context, { reason: DeadLetterReason.tooLarge, message });
    }
    const partition = partitionForKey(key, context.partitions.get(config.topic)!);
    batch.events.push(withHeaders({ key, value, partition, timestamp: String(e.created_at) }, context.headers));
    batch.eventsPerPartition[partition] = (batch.eventsPerPartition[partition] ?? 0) + 1;
    batch.bytes += value.length + key.length;
    batch.lastAdded = 'event';
  };
}

/**
 * A created_at the broker would refuse as the record's timestamp (INVALID_TIMESTAMP), which would
 * fail the whole transaction: outside message.timestamp.before/after.max.ms of now, less a margin.
 */
function timestampFailure(createdAt: number | bigint, limits: TopicLimits, now: number): DeadLetterFailure | undefined {
  if (limits.logAppendTime) return undefined;
  const t = Number(createdAt);
  const ahead = t - now;
  const behind = now - t;
  const margin = (window: number) => Math.min(TIMESTAMP_MARGIN_MS, window / 10);
  const tooFar =
    ahead > limits.afterMaxMs - margin(limits.afterMaxMs)
      ? `${Math.round(ahead / 1000)} s ahead of now; the topic takes at most ${limits.afterMaxMs} ms ahead (message.timestamp.after.max.ms)`
      : behind > limits.beforeMaxMs - margin(limits.beforeMaxMs)
        ? `${Math.round(behind / 1000)} s behind now; the topic takes at most ${limits.beforeMaxMs} ms behind (message.timestamp.before.max.ms)`
        : undefined;
  if (!tooFar) return undefined;
  return {
    reason: DeadLetterReason.timestampOutOfRange,
    message: `created_at: ${new Date(t).toISOString()} is ${tooFar}`,
    fieldPaths: ['created_at'],
  };
}

/**
 * The dead letter in the wire format, within `room` bytes: a larger original event is cut to fit,
 * and the envelope says how large it was.
 */
function encodeDeadLetter(schemaId: number, schema: LoadedSchema, envelope: DeadLetter, room: number): Buffer {
  const value = encodeWireFormat(schemaId, schema.type, envelope);
  if (value.length <= room) return value;
  const original = Buffer.from(envelope.original_event, 'utf8');
  const keep = Math.max(0, original.length - (value.length - room) - 64);
  const cut: DeadLetter = {
    ...envelope,
    original_event: original.subarray(0, keep).toString('utf8'),
    error_message: `${envelope.error_message} (original_event is ${original.length} bytes, cut to its first ${keep} here)`,
  };
  return encodeWireFormat(schemaId, schema.type, cut);
}

const headerBytes = (headers?: Record<string, string>): number => {
  let n = 0;
  for (const k in headers) n += k.length + headers[k]!.length + 8;
  return n;
};

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
