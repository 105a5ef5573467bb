// The produceEvents engine: validates, encodes (Confluent wire format) and produces order
// events in bounded batches inside one Kafka transaction, dead-lettering what cannot be sent.
import { randomUUID } from 'node:crypto';
import type { Config } from './config.ts';
import { deadLetter, type RunAttempt } from './dlq/envelope.ts';
import { partitionForKey } from './kafka/partitioner.ts';
import type { OutgoingMessage, PartitionAck, ProducerTransaction } from './kafka/backend.ts';
import type { EventProducer } from './kafka/producer.ts';
import { LedgerUnavailableError, ProducerFencedError, TransientError } from './errors.ts';
import type { Logger } from './logger.ts';
import { noMetrics, type ProducerMetrics } from './telemetry/metrics.ts';
import { inSpan, traceHeaders } from './telemetry/tracing.ts';
import {
  TRANSACTIONAL_ID_PREFIX,
  orderIdBase,
  runKey,
  runTransactionalId,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunIdentity,
  type RunOrigin,
  type RunParams,
  type RunReport,
} from './run-ledger/index.ts';
import type { LoadedSchema, OrderEvent } from './schema/order-event.ts';
import type { SchemaIds } from './schema/schema-ids.ts';
import { validate } from './schema/validate.ts';
import { encodeWireFormat } from './schema/wire-format.ts';

/** One partition's records of a run: their count, and their offsets where the backend learns them. */
export type PartitionRange = RunReport['partitions'][number];

/** What this attempt produced (the kafkajs backend knows every offset; librdkafka reports none). */
export type DeliveryReport = RunReport;

export interface SendRequest {
  /** The events, generated lazily: only one batch is held in memory at a time. */
  events: Iterable<unknown> | AsyncIterable<unknown>;
  run?: RunAttempt;
  /** Called after each batch the broker acknowledged, with the running count. */
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  /** Checked when the transaction is open and before the commit: a cancelled run aborts instead of committing. */
  throwIfCancelled?: () => void;
}

/** A run: produced at most once, whatever the attempt or the execution (src/run-ledger/identity.ts). */
export interface RunRequest extends Omit<SendRequest, 'events' | 'run'> {
  /** Who started the run and for which slot; the engine adds its topic to make the run's identity. */
  identity: { origin: RunOrigin; nominalTimeMs: number };
  /** What the run asks for: stored in the ledger, compared when the run is found there. */
  params: RunParams;
  /** The run's events with order ids from `firstOrderId`, generated afresh for each try. */
  events: (firstOrderId: bigint) => Iterable<unknown> | AsyncIterable<unknown>;
  run: RunAttempt & { attempt: number };
  /** The transaction's timeout: at least as long as the attempt may run. */
  transactionTimeoutMs: number;
}

/** A run's outcome, with the run's ledger key and order ids (from its record when already produced). */
export type RunOutcome = { key: string; firstOrderId: string; lastOrderId: string } & (
  | { status: 'produced'; report: DeliveryReport }
  | { status: 'already-produced'; record: LedgerRecord | LegacyLedgerRecord }
);

export interface OrderEventSender {
  /** Produces `events` in one transaction of its own (no ledger). */
  send(request: SendRequest): Promise<DeliveryReport>;
  /** Fences every earlier producer of the run, looks the run up in the ledger, and produces it only if absent. */
  produceRun(request: RunRequest): Promise<RunOutcome>;
}

export interface OrderEventSenderDeps {
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
  now?: () => number;
}

interface Batch {
  main: OutgoingMessage[];
  dlq: OutgoingMessage[];
  ledger?: OutgoingMessage;
  bytes: number;
}

/** What every send needs first: the schema ids and partition counts (none of it decides anything). */
interface Prepared {
  started: number;
  schemaId: number;
  dlqSchemaId: number;
  partitions: Map<string, number>;
}

/** A transaction that is not a slot's: it fences nothing but itself. */
const ONE_OFF_TRANSACTION_TIMEOUT_MS = 60_000;

export function createOrderEventSender(deps: OrderEventSenderDeps): OrderEventSender {
  const { config, producer, schemaIds, logger } = deps;
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? noMetrics;
  const observe = { committed: (s: number) => metrics.committed(s), aborted: () => metrics.transactionAborted() };

  async function prepare(ledgerTopic?: string): Promise<Prepared> {
    const started = now();
    const [schemaId, dlqSchemaId] = await Promise.all([
      schemaIds.idFor(config.subject, deps.orderEventSchema.text),
      schemaIds.idFor(config.dlqSubject, deps.deadLetterSchema.text),
    ]);
    const topics = [config.topic, config.dlqTopic, ...(ledgerTopic ? [ledgerTopic] : [])];
    return { started, schemaId, dlqSchemaId, partitions: await producer.partitionCounts(topics) };
  }

  const encoder = createBatchEncoder(deps, now);

  /** Validates, encodes and sends every event in `tx`; a ledger record rides with the last batch. */
  async function produceAll(
    tx: ProducerTransaction,
    prepared: Prepared,
    request: Omit<SendRequest, 'events'>,
    events: SendRequest['events'],
    /**
     * The run's ledger record, written with the last batch in the same transaction, so "this run is
     * produced" is atomic with its events. It costs no extra round trip; the offsets of that last
     * batch are not known yet, so the recorded report has them as null.
     */
    ledgerRecord?: { topic: string; entry: (report: RunReport) => OutgoingMessage },
  ): Promise<DeliveryReport> {
    // Every record carries the transaction span's trace context, so consumers can join the trace.
    const headers = traceHeaders();
    const ranges = new Map<number, PartitionRange>();
    let acknowledged = 0;
    let deadLettered = 0;
    const reportNow = (): DeliveryReport => ({
      topic: config.topic,
      acknowledged,
      deadLettered,
      dlqTopic: config.dlqTopic,
      partitions: [...ranges.values()].sort((a, b) => a.partition - b.partition),
      schemaId: prepared.schemaId,
      durationMs: now() - prepared.started,
    });
    const flush = async (batch: Batch) => {
      const topicBatches = [];
      if (batch.main.length > 0) topicBatches.push({ topic: config.topic, messages: batch.main });
      if (batch.dlq.length > 0) topicBatches.push({ topic: config.dlqTopic, messages: batch.dlq });
      if (batch.ledger) topicBatches.push({ topic: ledgerRecord!.topic, messages: [batch.ledger] });
      if (topicBatches.length === 0) return;
      const sendStarted = performance.now();
      const acks = await tx.send(topicBatches);
      metrics.batchSent((performance.now() - sendStarted) / 1000);
      recordRanges(ranges, acks, config.topic, batch.main);
      acknowledged += batch.main.length;
      deadLettered += batch.dlq.length;
      request.onProgress?.(acknowledged, deadLettered);
    };

    // One batch in flight while the next is validated and encoded: our CPU work overlaps the
    // broker's round trip. Batches still go out strictly in order.
    let inFlight: Promise<void> = Promise.resolve();
    const ship = async (ready: Batch) => {
      await inFlight;
      inFlight = flush(ready);
      inFlight.catch(() => undefined); // surfaced by the next await, not as an unhandled rejection
    };
    let batch = emptyBatch();
    /** Adds one event; returns the shipping of the batch it filled, if it filled one. */
    const add = (event: unknown): Promise<void> | undefined => {
      encoder.encode(batch, event, prepared, request.run, headers);
      if (batch.main.length + batch.dlq.length < config.batchMaxMessages && batch.bytes < config.batchMaxBytes) {
        return undefined;
      }
      const full = batch;
      batch = emptyBatch();
      return ship(full);
    };
    // A plain loop over a synchronous source: `for await` would cost a promise per event.
    if (Symbol.iterator in events) {
      for (const event of events) {
        const shipping = add(event);
        if (shipping) await shipping;
      }
    } else {
      for await (const event of events) {
        const shipping = add(event);
        if (shipping) await shipping;
      }
    }
    if (ledgerRecord) {
      await inFlight; // every earlier batch acknowledged: their offsets are known
      const entry = ledgerRecord.entry(withLastBatch(reportNow(), batch));
      batch.ledger = headers ? { ...entry, headers } : entry;
    }
    await ship(batch);
    await inFlight;
    return reportNow();
  }

  const logProduced = (report: DeliveryReport, request: Pick<SendRequest, 'run'>) => {
    metrics.produced(report.acknowledged);
    metrics.deadLettered(report.deadLettered);
    logger.info('events produced', {
      topic: report.topic,
      acknowledged: report.acknowledged,
      deadLettered: report.deadLettered,
      schemaId: report.schemaId,
      durationMs: report.durationMs,
      workflowId: request.run?.workflowId,
    });
  };

  return {
    async send(request) {
      const prepared = await prepare();
      const transaction = {
        transactionalId: `${TRANSACTIONAL_ID_PREFIX}|once|${config.topic}|${randomUUID()}`,
        timeoutMs: ONE_OFF_TRANSACTION_TIMEOUT_MS,
        observe,
        ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
      };
      const report = await inSpan('kafka.transaction', { 'messaging.destination.name': config.topic }, () =>
        producer.inTransaction(transaction, (tx) => produceAll(tx, prepared, request, request.events)),
      );
      logProduced(report, request);
      return report;
    },

    async produceRun(request) {
      const identity: RunIdentity = { topic: config.topic, ...request.identity };
      const prepared = await prepare(config.runsTopic);
      const ledger = await producer.ledger(config.runsTopic);
      const base = orderIdBase(identity);
      const ids = {
        firstOrderId: String(base),
        lastOrderId: String(base + BigInt(request.params.eventCount - 1)),
      };
      const transaction = {
        transactionalId: runTransactionalId(identity),
        timeoutMs: request.transactionTimeoutMs,
        observe,
        ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
      };
      // The transaction is open, so every earlier producer of this run is fenced: what the
      // ledger says now cannot change under us, and deciding on it is safe.
      const spanAttributes = {
        'messaging.destination.name': config.topic,
        'messaging.kafka.transactional_id': transaction.transactionalId,
        'order_events.slot': new Date(identity.nominalTimeMs).toISOString(),
        'order_events.client': producer.client,
      };
      type Decided =
        | { status: 'produced'; report: DeliveryReport }
        | { status: 'already-produced'; record: LedgerRecord | LegacyLedgerRecord };
      const once = () =>
        inSpan('kafka.transaction', spanAttributes, () =>
          producer.inTransaction(transaction, async (tx): Promise<Decided> => {
            const answer = await ledger.check(identity, request.params);
            if (answer.status === 'produced') return { status: 'already-produced', record: answer.record };
            const by = { ...request.run, ...ids };
            const entry = (report: RunReport) => ledger.entryFor(answer.place, identity, request.params, report, by);
            const events = request.events(base);
            return {
              status: 'produced',
              report: await produceAll(tx, prepared, request, events, { topic: config.runsTopic, entry }),
            };
          }),
        );
      const key = runKey(identity);
      const decided = await withRestarts(once, config.transactionRestarts, logger, key, request.throwIfCancelled);
      metrics.runDuration((now() - prepared.started) / 1000);
      if (decided.status === 'produced') {
        metrics.runCommitted();
        logProduced(decided.report, request);
        return { ...decided, key, ...ids };
      }
      metrics.runAlreadyCommitted();
      logger.info('run already produced; nothing sent', { run: key, by: decided.record.workflowId });
      const { firstOrderId, lastOrderId } = decided.record;
      return { ...decided, key, firstOrderId, lastOrderId };
    },
  };
}

const emptyBatch = (): Batch => ({ main: [], dlq: [], bytes: 0 });

/**
 * Runs a slot's transaction again after a transient Kafka failure (a leader or coordinator that
 * moved, too few replicas in sync), up to `restarts` times with a growing pause. Each try is a new
 * producer with the slot's id (fenced, ledger-checked, resent from the start), exactly as a new
 * attempt would be, without spending one of Temporal's attempts on a blip.
 */
async function withRestarts<T>(
  once: () => Promise<T>,
  restarts: number,
  logger: Logger,
  slot: string,
  throwIfCancelled?: () => void,
): Promise<T> {
  for (let restart = 0; ; restart++) {
    try {
      return await once();
    } catch (err) {
      // Not after a fence: a newer attempt of the slot took over, and restarting would fence it back.
      const restartable =
        err instanceof TransientError &&
        !(err instanceof ProducerFencedError) &&
        !(err instanceof LedgerUnavailableError);
      if (!restartable || restart >= restarts) throw err;
      throwIfCancelled?.();
      const pauseMs = 250 * 2 ** restart;
      logger.warn('slot transaction restarted after a transient Kafka failure', {
        slot,
        restart: restart + 1,
        of: restarts,
        pauseMs,
        error: err,
      });
      await new Promise((r) => setTimeout(r, pauseMs));
      // Again after the pause: a process resumed from a freeze runs its overdue timers first, and
      // a cancelled (replaced) attempt that restarted now would fence the live attempt of its run.
      throwIfCancelled?.();
    }
  }
}

/** Validation, wire-format encoding and dead-lettering of single events into a batch. */
function createBatchEncoder(deps: OrderEventSenderDeps, now: () => number) {
  const { config, logger } = deps;
  const toDlq = (
    batch: Batch,
    prepared: Prepared,
    run: RunAttempt | undefined,
    event: unknown,
    failure: { errorClass: string; message: string; fieldPaths?: string[] },
    headers?: Record<string, string>,
  ) => {
    const key = orderKey(event);
    const value = encodeWireFormat(
      prepared.dlqSchemaId,
      deps.deadLetterSchema.type,
      deadLetter(event, failure, config.topic, now(), run),
    );
    const dlqPartitions = prepared.partitions.get(config.dlqTopic)!;
    const partition = key === null ? 0 : partitionForKey(key, dlqPartitions);
    batch.dlq.push(headers ? { key, value, partition, headers } : { key, value, partition });
    batch.bytes += value.length;
    logger.debug('event dead-lettered', { errorClass: failure.errorClass, fieldPaths: failure.fieldPaths });
  };

  return {
    encode(
      batch: Batch,
      event: unknown,
      prepared: Prepared,
      run: RunAttempt | undefined,
      headers?: Record<string, string>,
    ) {
      const problems = validate(deps.orderEventSchema.type, event);
      if (problems.length > 0) {
        const message = problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
        const fieldPaths = problems.map((p) => p.path);
        return toDlq(
          batch,
          prepared,
          run,
          event,
          { errorClass: 'SchemaValidationError', message, fieldPaths },
          headers,
        );
      }
      const e = event as OrderEvent;
      let value: Buffer;
      try {
        value = encodeWireFormat(prepared.schemaId, deps.orderEventSchema.type, e);
      } catch (err) {
        return toDlq(
          batch,
          prepared,
          run,
          event,
          { errorClass: 'SerializationError', message: (err as Error).message },
          headers,
        );
      }
      if (value.length > config.maxMessageBytes) {
        const message = `${value.length} bytes exceeds ${config.maxMessageBytes}`;
        return toDlq(batch, prepared, run, event, { errorClass: 'RecordTooLargeError', message }, headers);
      }
      const key = String(e.order_id);
      const partitions = prepared.partitions.get(config.topic)!;
      const partition = partitionForKey(key, partitions);
      batch.main.push(
        headers
          ? { key, value, partition, timestamp: String(e.created_at), headers }
          : { key, value, partition, timestamp: String(e.created_at) },
      );
      batch.bytes += value.length + key.length;
      logger.debug('event encoded', { order_id: e.order_id });
    },
  };
}

/** The report once the last batch lands: counts final, that batch's offsets unknown (null). */
function withLastBatch(soFar: DeliveryReport, last: Batch): RunReport {
  const partitions = new Map<number, RunReport['partitions'][number]>(
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
    // A backend that does not learn offsets (librdkafka) leaves them null: counts stay exact.
    const first = ack.baseOffset;
    const last = first === null ? null : first + count - 1;
    const range = ranges.get(ack.partition);
    if (!range) {
      ranges.set(ack.partition, { partition: ack.partition, firstOffset: first, lastOffset: last, count });
      continue;
    }
    range.count += count;
    if (first === null || last === null || range.firstOffset === null || range.lastOffset === null) {
      range.firstOffset = range.lastOffset = null;
    } else {
      range.firstOffset = Math.min(range.firstOffset, first);
      range.lastOffset = Math.max(range.lastOffset, last);
    }
  }
}
