// The produceEvents engine: validates, encodes (Confluent wire format) and produces order
// events in bounded batches inside one Kafka transaction, dead-lettering what cannot be sent.
import type { Config } from './config.ts';
import { deadLetter, type RunIdentity } from './dlq/envelope.ts';
import { partitionForKey } from './kafka/partitioner.ts';
import type { EventProducer, OutgoingMessage, PartitionAck, ProducerTransaction } from './kafka/producer.ts';
import type { Logger } from './logger.ts';
import type { LoadedSchema, OrderEvent } from './schema/order-event.ts';
import type { SchemaIds } from './schema/schema-ids.ts';
import { validate } from './schema/validate.ts';
import { encodeWireFormat } from './schema/wire-format.ts';

export interface PartitionRange {
  partition: number;
  firstOffset: number;
  lastOffset: number;
  count: number;
}

export interface DeliveryReport {
  topic: string;
  acknowledged: number;
  deadLettered: number;
  dlqTopic: string;
  partitions: PartitionRange[];
  schemaId: number;
  durationMs: number;
}

/** The report as the ledger records it: counts are final, offsets of the last batch unknown. */
export interface LedgerReport extends Omit<DeliveryReport, 'partitions'> {
  partitions: { partition: number; count: number; firstOffset: number | null; lastOffset: number | null }[];
}

export interface SendRequest {
  /** The events, generated lazily: only one batch is held in memory at a time. */
  events: Iterable<unknown> | AsyncIterable<unknown>;
  run?: RunIdentity;
  /** Called after each batch the broker acknowledged, with the running count. */
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  /**
   * A record written with the last batch, in the same transaction, so "this run committed" is
   * atomic with its events. It costs no extra round trip; the offsets of that last batch are not
   * known yet, so the ledger's report has them as null.
   */
  ledger?: { topic: string; key: string; value: (report: LedgerReport) => Buffer };
  /** Checked before the commit: a cancelled run aborts instead of committing. */
  throwIfCancelled?: () => void;
}

export interface OrderEventSender {
  send(request: SendRequest): Promise<DeliveryReport>;
}

export interface OrderEventSenderDeps {
  config: Pick<Config['kafka'], 'topic' | 'dlqTopic' | 'batchMaxMessages' | 'batchMaxBytes' | 'maxMessageBytes'> &
    Pick<Config['registry'], 'subject' | 'dlqSubject'>;
  producer: EventProducer;
  schemaIds: SchemaIds;
  orderEventSchema: LoadedSchema;
  deadLetterSchema: LoadedSchema;
  logger: Logger;
  now?: () => number;
}

interface Batch {
  main: OutgoingMessage[];
  dlq: OutgoingMessage[];
  ledger?: OutgoingMessage;
  bytes: number;
}

export function createOrderEventSender(deps: OrderEventSenderDeps): OrderEventSender {
  const { config, producer, schemaIds, logger } = deps;
  const now = deps.now ?? Date.now;

  return {
    async send(request) {
      const started = now();
      const [schemaId, dlqSchemaId] = await Promise.all([
        schemaIds.idFor(config.subject, deps.orderEventSchema.text),
        schemaIds.idFor(config.dlqSubject, deps.deadLetterSchema.text),
      ]);
      const partitions = await producer.partitionCounts(
        request.ledger ? [config.topic, config.dlqTopic, request.ledger.topic] : [config.topic, config.dlqTopic],
      );
      const mainPartitions = partitions.get(config.topic)!;
      const dlqPartitions = partitions.get(config.dlqTopic)!;

      const ranges = new Map<number, PartitionRange>();
      let acknowledged = 0;
      let deadLettered = 0;

      const toDlq = (batch: Batch, event: unknown, errorClass: string, message: string, fieldPaths?: string[]) => {
        const key = orderKey(event);
        const value = encodeWireFormat(
          dlqSchemaId,
          deps.deadLetterSchema.type,
          deadLetter(event, { errorClass, message, fieldPaths }, config.topic, now(), request.run),
        );
        batch.dlq.push({ key, value, partition: key === null ? 0 : partitionForKey(key, dlqPartitions) });
        batch.bytes += value.length;
        logger.debug('event dead-lettered', { errorClass, fieldPaths });
      };

      const encode = (batch: Batch, event: unknown) => {
        const problems = validate(deps.orderEventSchema.type, event);
        if (problems.length > 0) {
          const message = problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
          toDlq(
            batch,
            event,
            'SchemaValidationError',
            message,
            problems.map((p) => p.path),
          );
          return;
        }
        const e = event as OrderEvent;
        let value: Buffer;
        try {
          value = encodeWireFormat(schemaId, deps.orderEventSchema.type, e);
        } catch (err) {
          toDlq(batch, event, 'SerializationError', (err as Error).message);
          return;
        }
        if (value.length > config.maxMessageBytes) {
          toDlq(batch, event, 'RecordTooLargeError', `${value.length} bytes exceeds ${config.maxMessageBytes}`);
          return;
        }
        const key = String(e.order_id);
        batch.main.push({
          key,
          value,
          partition: partitionForKey(key, mainPartitions),
          timestamp: String(e.created_at),
        });
        batch.bytes += value.length + key.length;
        logger.debug('event encoded', { order_id: e.order_id });
      };

      const flush = async (tx: ProducerTransaction, batch: Batch) => {
        const topicBatches = [];
        if (batch.main.length > 0) topicBatches.push({ topic: config.topic, messages: batch.main });
        if (batch.dlq.length > 0) topicBatches.push({ topic: config.dlqTopic, messages: batch.dlq });
        if (batch.ledger) topicBatches.push({ topic: request.ledger!.topic, messages: [batch.ledger] });
        if (topicBatches.length === 0) return;
        const acks = await tx.send(topicBatches);
        recordRanges(ranges, acks, config.topic, batch.main);
        acknowledged += batch.main.length;
        deadLettered += batch.dlq.length;
        request.onProgress?.(acknowledged, deadLettered);
      };

      const reportNow = (): DeliveryReport => ({
        topic: config.topic,
        acknowledged,
        deadLettered,
        dlqTopic: config.dlqTopic,
        partitions: [...ranges.values()].sort((a, b) => a.partition - b.partition),
        schemaId,
        durationMs: now() - started,
      });

      await producer.inTransaction(async (tx) => {
        // One batch in flight while the next is validated and encoded: our CPU work overlaps the
        // broker's round trip. Batches still go out strictly in order.
        let inFlight: Promise<void> = Promise.resolve();
        const ship = async (ready: Batch) => {
          await inFlight;
          inFlight = flush(tx, ready);
          inFlight.catch(() => undefined); // surfaced by the next await, not as an unhandled rejection
        };
        let batch: Batch = { main: [], dlq: [], bytes: 0 };
        for await (const event of request.events) {
          encode(batch, event);
          if (batch.main.length + batch.dlq.length >= config.batchMaxMessages || batch.bytes >= config.batchMaxBytes) {
            await ship(batch);
            batch = { main: [], dlq: [], bytes: 0 };
          }
        }
        if (request.ledger) {
          await inFlight; // every earlier batch acknowledged: their offsets are known
          const { topic, key, value } = request.ledger;
          const report = ledgerReport(reportNow(), batch);
          batch.ledger = { key, value: value(report), partition: partitionForKey(key, partitions.get(topic)!) };
        }
        await ship(batch);
        await inFlight;
        request.throwIfCancelled?.();
      });

      const report = reportNow();
      logger.info('events produced', {
        topic: report.topic,
        acknowledged,
        deadLettered,
        schemaId,
        durationMs: report.durationMs,
        workflowId: request.run?.workflowId,
      });
      return report;
    },
  };
}

function ledgerReport(soFar: DeliveryReport, last: Batch): LedgerReport {
  const partitions = new Map<number, LedgerReport['partitions'][number]>(
    soFar.partitions.map((p) => [p.partition, { ...p }]),
  );
  for (const m of last.main) {
    const p = partitions.get(m.partition);
    if (p) {
      p.count++;
      p.lastOffset = null;
    } else {
      partitions.set(m.partition, { partition: m.partition, count: 1, firstOffset: null, lastOffset: null });
    }
  }
  return {
    ...soFar,
    acknowledged: soFar.acknowledged + last.main.length,
    deadLettered: soFar.deadLettered + last.dlq.length,
    partitions: [...partitions.values()].sort((a, b) => a.partition - b.partition),
  };
}

function orderKey(event: unknown): string | null {
  const id = (event as { order_id?: unknown } | null)?.order_id;
  return typeof id === 'number' || typeof id === 'string' || typeof id === 'bigint' ? String(id) : null;
}

function recordRanges(
  ranges: Map<number, PartitionRange>,
  acks: PartitionAck[],
  topic: string,
  sent: OutgoingMessage[],
): void {
  const counts = new Map<number, number>();
  for (const m of sent) counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
  for (const ack of acks) {
    if (ack.topic !== topic) continue;
    const count = counts.get(ack.partition) ?? 0;
    if (count === 0) continue;
    const last = ack.baseOffset + count - 1;
    const range = ranges.get(ack.partition);
    if (range) {
      range.firstOffset = Math.min(range.firstOffset, ack.baseOffset);
      range.lastOffset = Math.max(range.lastOffset, last);
      range.count += count;
    } else {
      ranges.set(ack.partition, { partition: ack.partition, firstOffset: ack.baseOffset, lastOffset: last, count });
    }
  }
}
