// A run's events through one open transaction: encoded into bounded batches, one batch in flight
// while the next is encoded, the ledger record riding with the last batch.
import type { OutgoingMessage, ProducerTransaction, TopicBatch } from '../kafka/backend.ts';
import type { ProducerMetrics } from '../telemetry/metrics.ts';
import type { RunReport } from '../run-ledger/index.ts';
import { emptyBatch, type Batch, type BatchEncoder, type EncodeContext } from './batch-encoder.ts';
import type { RunReportBuilder } from './run-report.ts';

interface ProduceBatchesDeps {
  config: { topic: string; dlqTopic: string; batchMaxMessages: number; batchMaxBytes: number };
  encode: BatchEncoder;
  metrics: ProducerMetrics;
}

interface ProduceBatchesRequest {
  events: Iterable<unknown> | AsyncIterable<unknown>;
  context: EncodeContext;
  report: RunReportBuilder;
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  /**
   * The run's ledger record, written with the last batch in the same transaction, so "this run is
   * produced" is atomic with its events. It costs no extra round trip; the offsets of that last
   * batch are not known yet, so the recorded report has them as null.
   */
  ledger: { topic: string; entry: (report: RunReport) => OutgoingMessage };
}

/** Validates, encodes and sends every event in `tx`; returns the run's report. */
export async function produceBatches(
  deps: ProduceBatchesDeps,
  tx: ProducerTransaction,
  request: ProduceBatchesRequest,
): Promise<RunReport> {
  const { config, encode } = deps;
  const { context, report } = request;
  const flush = async (batch: Batch) => {
    const topicBatches = topicBatchesOf(batch, config, request.ledger.topic);
    if (topicBatches.length === 0) return;
    const sendStarted = performance.now();
    const acks = await tx.send(topicBatches);
    deps.metrics.batchSent((performance.now() - sendStarted) / 1000);
    report.acknowledged(acks, batch.eventsPerPartition, batch.deadLetters.length);
    request.onProgress?.(report.counts.acknowledged, report.counts.deadLettered);
  };
  const pipeline = inOrder(flush);
  const maxBytes = batchBytesBound(config.batchMaxBytes, context);
  let batch = emptyBatch();
  /** Adds one event; returns the shipping of the batch it filled, if it filled one. */
  const add = (event: unknown): Promise<void> | undefined => {
    const before = batch.bytes;
    encode(batch, event, context);
    if (batch.bytes > maxBytes && before > 0) {
      // This record would overflow the batch: the batch goes without it, and it starts the next.
      const full = batch;
      batch = spillLast(full);
      return pipeline.ship(full);
    }
    if (batch.events.length + batch.deadLetters.length < config.batchMaxMessages && batch.bytes < maxBytes) {
      return undefined;
    }
    const full = batch;
    batch = emptyBatch();
    return pipeline.ship(full);
  };
  // A plain loop over a synchronous source: `for await` (or awaiting every add) would cost a
  // promise per event.
  if (Symbol.iterator in request.events) {
    for (const event of request.events) {
      const shipping = add(event);
      if (shipping) await shipping;
    }
  } else {
    for await (const event of request.events) {
      const shipping = add(event);
      if (shipping) await shipping;
    }
  }
  await pipeline.drained(); // every earlier batch acknowledged: their offsets are known
  const entry = request.ledger.entry(report.reportWith(batch.eventsPerPartition, batch.deadLetters.length));
  batch.ledger = context.headers ? { ...entry, headers: context.headers } : entry;
  await pipeline.ship(batch);
  await pipeline.drained();
  return report.report();
}

/**
 * One batch in flight while the next is validated and encoded: our CPU work overlaps the broker's
 * round trip. Batches still go out strictly in order.
 */
function inOrder(flush: (batch: Batch) => Promise<void>) {
  let inFlight: Promise<void> = Promise.resolve();
  return {
    async ship(ready: Batch) {
      await inFlight;
      inFlight = flush(ready);
      inFlight.catch(() => undefined); // surfaced by the next await, not as an unhandled rejection
    },
    drained: () => inFlight,
  };
}

/**
 * A batch's records for one partition travel as one record batch, which the broker checks against
 * max.message.bytes: the byte bound stays below the smaller topic's limit.
 */
function batchBytesBound(batchMaxBytes: number, context: EncodeContext): number {
  const { events, dlq } = context.limits;
  return Math.min(batchMaxBytes, Math.floor(0.9 * Math.min(events.maxMessageBytes, dlq.maxMessageBytes)));
}

/** Moves the record the encoder added last out of `full`, into a new batch of its own. */
function spillLast(full: Batch): Batch {
  const next = emptyBatch();
  // The encoder adds one record per event, to the events or the dead letters, last in its list.
  const lastEvent = full.events.at(-1);
  const lastDead = full.deadLetters.at(-1);
  const moved = full.lastAdded === 'dead-letter' ? lastDead : lastEvent;
  if (!moved) return next;
  if (full.lastAdded === 'dead-letter') {
    full.deadLetters.pop();
    next.deadLetters.push(moved);
  } else {
    full.events.pop();
    next.events.push(moved);
    const p = moved.partition;
    full.eventsPerPartition[p]! -= 1;
    next.eventsPerPartition[p] = 1;
  }
  const bytes = moved.value.length + (moved.key?.length ?? 0);
  full.bytes -= bytes;
  next.bytes = bytes;
  next.lastAdded = full.lastAdded;
  return next;
}

function topicBatchesOf(batch: Batch, config: { topic: string; dlqTopic: string }, ledgerTopic: string): TopicBatch[] {
  const out: TopicBatch[] = [];
  if (batch.events.length > 0) out.push({ topic: config.topic, messages: batch.events });
  if (batch.deadLetters.length > 0) out.push({ topic: config.dlqTopic, messages: batch.deadLetters });
  if (batch.ledger) out.push({ topic: ledgerTopic, messages: [batch.ledger] });
  return out;
}
