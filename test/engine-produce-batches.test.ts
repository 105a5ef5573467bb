// A run's events through one transaction (src/engine/produce-batches.ts), against a fake
// ProducerTransaction: batches bounded by count and bytes, strictly in order with one in flight, and
// the ledger record riding with the last batch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Batch, BatchEncoder, EncodeContext } from '../src/engine/batch-encoder.ts';
import { produceBatches } from '../src/engine/produce-batches.ts';
import { createRunReportBuilder } from '../src/engine/run-report.ts';
import type { OutgoingMessage, PartitionAck, TopicBatch } from '../src/kafka/backend.ts';
import type { RunReport } from '../src/run-ledger/index.ts';
import { noMetrics } from '../src/telemetry/metrics.ts';

/** A test event: its record's size, its partition, and whether the encoder dead-letters it. */
interface Fake {
  id: number;
  size: number;
  partition?: number;
  dead?: boolean;
}

/** Adds one record per event as the real encoder does (last in its list, bytes and lastAdded kept). */
const encode: BatchEncoder = (batch: Batch, event: unknown) => {
  const e = event as Fake;
  const message = { key: String(e.id), value: Buffer.alloc(e.size - String(e.id).length), partition: e.partition ?? 0 };
  if (e.dead) {
    batch.deadLetters.push(message);
    batch.lastAdded = 'dead-letter';
  } else {
    batch.events.push(message);
    batch.eventsPerPartition[message.partition] = (batch.eventsPerPartition[message.partition] ?? 0) + 1;
    batch.lastAdded = 'event';
  }
  batch.bytes += e.size;
};

const limits = { maxMessageBytes: 1_048_576, logAppendTime: false, beforeMaxMs: 1e12, afterMaxMs: 1e12 };
const context = (headers?: Record<string, string>): EncodeContext => ({
  schemaId: 1,
  dlqSchemaId: 2,
  partitions: new Map(),
  limits: { events: limits, dlq: limits },
  ...(headers ? { headers } : {}),
});

/** Sends that succeed at once, each partition's offsets counting up from 0; `gate` holds a send back. */
function fakeTx(gate?: (sendIndex: number) => Promise<void>) {
  const sent: TopicBatch[][] = [];
  const next = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const tx = {
    async send(batches: TopicBatch[]): Promise<PartitionAck[]> {
      sent.push(batches);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate?.(sent.length - 1);
      inFlight--;
      return batches.flatMap(({ topic, messages }) =>
        [...new Set(messages.map((m) => m.partition))].map((partition) => {
          const key = `${topic}/${partition}`;
          const baseOffset = next.get(key) ?? 0;
          next.set(key, baseOffset + messages.filter((m) => m.partition === partition).length);
          return { topic, partition, baseOffset };
        }),
      );
    },
  };
  return { tx, sent, maxInFlight: () => maxInFlight };
}

const config = { topic: 'events', dlqTopic: 'events.dlq', batchMaxMessages: 2, batchMaxBytes: 1024 };

function request(events: Iterable<unknown> | AsyncIterable<unknown>, headers?: Record<string, string>) {
  const ledgerReports: RunReport[] = [];
  const progress: [number, number][] = [];
  return {
    ledgerReports,
    progress,
    value: {
      events,
      context: context(headers),
      report: createRunReportBuilder({ topic: 'events', dlqTopic: 'events.dlq', schemaId: 1 }, () => 0),
      onProgress: (a: number, d: number) => void progress.push([a, d]),
      ledger: {
        topic: 'events.runs',
        entry: (report: RunReport): OutgoingMessage => {
          ledgerReports.push(report);
          return { key: 'run', value: Buffer.from(JSON.stringify(report)), partition: 3 };
        },
      },
    },
  };
}

const shape = (sent: TopicBatch[][]) =>
  sent.map((b) => b.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join(',')}`));
const fakes = (n: number, size = 10, dead = (_i: number) => false): Fake[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, size, ...(dead(i) ? { dead: true } : {}) }));

describe('produceBatches', () => {
  test('batches of at most batchMaxMessages records; the ledger record rides with the last batch', async () => {
    const fake = fakeTx();
    const req = request(fakes(5, 10, (i) => i === 1));
    const report = await produceBatches({ config, encode, metrics: noMetrics }, fake.tx, req.value);
    assert.deepEqual(shape(fake.sent), [['events:1', 'events.dlq:2'], ['events:3,4'], ['events:5', 'events.runs:run']]);
    assert.deepEqual(req.progress, [
      [1, 1],
      [3, 1],
      [4, 1],
    ]);
    assert.equal(req.ledgerReports.length, 1);
    assert.equal(req.ledgerReports[0]!.acknowledged, 4, 'the ledger record counts the batch it rides with');
    assert.deepEqual(req.ledgerReports[0]!.partitions, [{ partition: 0, firstOffset: 0, lastOffset: null, count: 4 }]);
    assert.equal(report.acknowledged, 4);
    assert.equal(report.deadLettered, 1);
    assert.deepEqual(report.partitions, [{ partition: 0, firstOffset: 0, lastOffset: 3, count: 4 }]);
  });

  test('a record that would overflow the byte bound starts the next batch, dead letter or event', async () => {
    const fake = fakeTx();
    const events: Fake[] = [
      { id: 1, size: 600 },
      { id: 2, size: 600, dead: true },
      { id: 3, size: 300, partition: 1 },
      { id: 4, size: 900, partition: 1 },
    ];
    const req = request(events);
    const report = await produceBatches(
      { config: { ...config, batchMaxMessages: 100 }, encode, metrics: noMetrics },
      fake.tx,
      req.value,
    );
    assert.deepEqual(shape(fake.sent), [['events:1'], ['events:3', 'events.dlq:2'], ['events:4', 'events.runs:run']]);
    assert.deepEqual(report.partitions, [
      { partition: 0, firstOffset: 0, lastOffset: 0, count: 1 },
      { partition: 1, firstOffset: 0, lastOffset: 1, count: 2 },
    ]);
  });

  test("the byte bound stays under 90% of the smaller topic's max.message.bytes", async () => {
    const fake = fakeTx();
    const req = request(fakes(3, 400));
    req.value.context = { ...context(), limits: { events: limits, dlq: { ...limits, maxMessageBytes: 1000 } } };
    await produceBatches(
      { config: { ...config, batchMaxMessages: 100, batchMaxBytes: 1_000_000 }, encode, metrics: noMetrics },
      fake.tx,
      req.value,
    );
    assert.deepEqual(shape(fake.sent), [['events:1,2'], ['events:3', 'events.runs:run']]);
  });

  test('one batch in flight while the next is encoded; the next is not sent before it is acknowledged', async () => {
    let release!: () => void;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    const fake = fakeTx((i) => (i === 0 ? firstHeld : Promise.resolve()));
    const encoded: number[] = [];
    function* events() {
      for (const e of fakes(6)) {
        encoded.push(e.id);
        yield e;
      }
    }
    const done = produceBatches({ config, encode, metrics: noMetrics }, fake.tx, request(events()).value);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.sent.length, 1, 'the second batch waits for the first');
    assert.deepEqual(encoded, [1, 2, 3, 4], 'the second batch was encoded meanwhile');
    release();
    await done;
    assert.equal(fake.maxInFlight(), 1);
    assert.deepEqual(shape(fake.sent), [['events:1,2'], ['events:3,4'], ['events:5,6'], ['events.runs:run']]);
  });

  test('an async source works; a run of no events sends only its ledger record, with the trace headers', async () => {
    const fake = fakeTx();
    async function* none() {}
    const req = request(none(), { traceparent: 'tp' });
    const report = await produceBatches({ config, encode, metrics: noMetrics }, fake.tx, req.value);
    assert.deepEqual(shape(fake.sent), [['events.runs:run']]);
    assert.deepEqual(fake.sent[0]![0]!.messages[0]!.headers, { traceparent: 'tp' });
    assert.equal(report.acknowledged, 0);
  });

  test('a failed send fails the run and the ledger record is never sent', async () => {
    const fake = fakeTx((i) => (i === 1 ? Promise.reject(new Error('broker said no')) : Promise.resolve()));
    const req = request(fakes(6));
    await assert.rejects(produceBatches({ config, encode, metrics: noMetrics }, fake.tx, req.value), /broker said no/);
    assert.equal(req.ledgerReports.length, 0);
    assert.ok(
      !shape(fake.sent)
        .flat()
        .some((t) => t.startsWith('events.runs')),
    );
  });
});
