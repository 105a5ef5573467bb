// The batch encoder (src/engine/batch-encoder.ts): a valid event goes to the events topic in the wire
// format, partitioned by order_id; anything that cannot be sent becomes a dead letter with a typed
// reason, its source's id, and an original event cut to fit the dead-letter topic.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeadLetter } from '../src/dlq/envelope.ts';
import { SOURCE_ID_HEADER, createBatchEncoder, emptyBatch, type EncodeContext } from '../src/engine/batch-encoder.ts';
import { partitionForKey } from '../src/kafka/partitioner.ts';
import { createLogger } from '../src/logger.ts';
import { DEAD_LETTER_SCHEMA_FILE, ORDER_EVENT_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';
import { readWireFormat } from '../src/schema/wire-format.ts';
import { sampleEvents } from './fixtures/events.ts';

const NOW = 1_764_000_000_000;
const DAY = 86_400_000;
const orderEventSchema = loadSchema(ORDER_EVENT_SCHEMA_FILE);
const deadLetterSchema = loadSchema(DEAD_LETTER_SCHEMA_FILE);
const limits = { maxMessageBytes: 1_048_576, logAppendTime: false, beforeMaxMs: 7 * DAY, afterMaxMs: 3_600_000 };

function encoder(maxMessageBytes = 1_048_576) {
  return createBatchEncoder({
    config: { topic: 'events', dlqTopic: 'events.dlq', maxMessageBytes },
    orderEventSchema,
    deadLetterSchema,
    logger: createLogger('error', () => undefined),
    now: () => NOW,
  });
}

function context(overrides: Partial<EncodeContext> = {}): EncodeContext {
  return {
    schemaId: 11,
    dlqSchemaId: 12,
    partitions: new Map([
      ['events', 6],
      ['events.dlq', 3],
    ]),
    limits: { events: limits, dlq: limits },
    run: { workflowId: 'wf', runId: 'r1', attempt: 2 },
    ...overrides,
  };
}

function deadLetterOf(value: Buffer): DeadLetter {
  const { schemaId, body } = readWireFormat(value);
  assert.equal(schemaId, 12);
  return deadLetterSchema.type.fromBuffer(body) as DeadLetter;
}

describe('batch encoder', () => {
  test('a valid event: wire format with the schema id, keyed and partitioned by order_id, timestamped, counted', () => {
    const [event] = sampleEvents(1, 4242, NOW - 1000);
    const batch = emptyBatch();
    encoder()(batch, event, context({ headers: { traceparent: 'tp' } }));
    assert.equal(batch.events.length, 1);
    assert.equal(batch.deadLetters.length, 0);
    const message = batch.events[0]!;
    const partition = partitionForKey('4242', 6);
    assert.deepEqual(
      { ...message, value: undefined },
      {
        key: '4242',
        value: undefined,
        partition,
        timestamp: String(NOW - 1000),
        headers: { traceparent: 'tp' },
      },
    );
    const { schemaId, body } = readWireFormat(message.value);
    assert.equal(schemaId, 11);
    assert.deepEqual({ ...orderEventSchema.type.fromBuffer(body) }, event);
    assert.equal(batch.eventsPerPartition[partition], 1);
    assert.equal(batch.bytes, message.value.length + 4);
    assert.equal(batch.lastAdded, 'event');
  });

  test('an invalid event is a SchemaValidationError dead letter naming its fields and run', () => {
    const event = { ...sampleEvents(1, 77)[0]!, order_status: 'LOST', extra: 1 };
    const batch = emptyBatch();
    encoder()(batch, event, context());
    assert.equal(batch.events.length, 0);
    const [message] = batch.deadLetters;
    assert.equal(message!.key, '77');
    assert.equal(message!.partition, partitionForKey('77', 3), "partitioned among the dead-letter topic's partitions");
    const letter = deadLetterOf(message!.value);
    assert.equal(letter.error_class, 'SchemaValidationError');
    assert.deepEqual(letter.field_paths, ['order_status', 'extra']);
    assert.match(
      letter.error_message,
      /^order_status: expected one of CREATED\|.*; extra: is not a field of the schema$/,
    );
    assert.deepEqual(JSON.parse(letter.original_event), event);
    assert.deepEqual(
      [letter.source_topic, letter.failed_at, letter.workflow_id, letter.run_id, letter.attempt],
      ['events', NOW, 'wf', 'r1', 2],
    );
    assert.equal(batch.lastAdded, 'dead-letter');
  });

  test("the source's problem wins over validation; its row id prefixes the message and rides as a header", () => {
    const headers = { traceparent: 'tp' };
    const batch = emptyBatch();
    encoder()(
      batch,
      sampleEvents(1)[0],
      context({
        headers,
        sourceIdOf: () => '991',
        problemOf: () => ({ reason: 'RecordTooLargeError', message: 'the row is too large to fetch' }),
      }),
    );
    const [message] = batch.deadLetters;
    assert.deepEqual(message!.headers, { traceparent: 'tp', [SOURCE_ID_HEADER]: '991' });
    assert.deepEqual(headers, { traceparent: 'tp' }, "the run's shared headers are not changed");
    const letter = deadLetterOf(message!.value);
    assert.equal(letter.error_class, 'RecordTooLargeError');
    assert.equal(letter.error_message, 'row 991: the row is too large to fetch');
  });

  test('a created_at the broker would refuse (less a margin) is dead-lettered; LogAppendTime checks none', () => {
    const ahead = (ms: number) => sampleEvents(1, 1, NOW + ms)[0];
    const batch = emptyBatch();
    const encode = encoder();
    encode(batch, ahead(3_500_000), context()); // within the hour less the 60 s margin
    encode(batch, ahead(3_550_000), context());
    encode(batch, sampleEvents(1, 2, NOW - 8 * DAY)[0], context());
    assert.equal(batch.events.length, 1);
    const [tooFar, tooOld] = batch.deadLetters.map((m) => deadLetterOf(m.value));
    assert.equal(tooFar!.error_class, 'TimestampOutOfRangeError');
    assert.deepEqual(tooFar!.field_paths, ['created_at']);
    assert.match(tooFar!.error_message, /is 3550 s ahead of now; the topic takes at most 3600000 ms ahead/);
    assert.match(tooOld!.error_message, /is 691200 s behind now; .*message\.timestamp\.before\.max\.ms/);
    const appendTime = emptyBatch();
    encode(
      appendTime,
      ahead(30 * DAY),
      context({ limits: { events: { ...limits, logAppendTime: true }, dlq: limits } }),
    );
    assert.equal(appendTime.events.length, 1);
  });

  test('a record over KAFKA_MAX_MESSAGE_BYTES is a RecordTooLargeError naming both bounds', () => {
    const batch = emptyBatch();
    encoder(16)(batch, sampleEvents(1)[0], context());
    const letter = deadLetterOf(batch.deadLetters[0]!.value);
    assert.equal(letter.error_class, 'RecordTooLargeError');
    assert.match(
      letter.error_message,
      /^the record is \d+ bytes \(\d+ with its key, headers and framing\); events takes at most 1048576 \(max\.message\.bytes\) and KAFKA_MAX_MESSAGE_BYTES is 16$/,
    );
  });

  test('a dead letter too large for the dead-letter topic carries the original event cut, saying so', () => {
    const event = { order_id: 5, customer_id: 'c'.repeat(20_000), order_status: 'LOST' };
    const dlq = { ...limits, maxMessageBytes: 4096 };
    const batch = emptyBatch();
    encoder()(batch, event, context({ limits: { events: limits, dlq } }));
    const [message] = batch.deadLetters;
    assert.ok(message!.value.length <= 4096 - 512, `${message!.value.length} bytes`);
    const letter = deadLetterOf(message!.value);
    const whole = JSON.stringify(event).length;
    assert.match(
      letter.error_message,
      new RegExp(`\\(original_event is ${whole} bytes, cut to its first \\d+ here\\)$`),
    );
    assert.ok(JSON.stringify(event).startsWith(letter.original_event));
    assert.ok(letter.original_event.length > 1000, 'as much as fits is kept');
  });

  test('an event with 30,000 unknown fields still makes a dead letter the dead-letter topic takes', () => {
    const [valid] = sampleEvents(1, 77, NOW - 1000);
    const event: Record<string, unknown> = { ...valid };
    for (let i = 0; i < 30_000; i++) event[`unexpected_field_${i}`] = i;
    const batch = emptyBatch();
    encoder()(batch, event, context());
    const [message] = batch.deadLetters;
    assert.ok(message, 'dead-lettered');
    assert.ok(message.value.length <= limits.maxMessageBytes, `${message.value.length} bytes`);
    const letter = deadLetterOf(message.value);
    assert.ok(letter.field_paths.length <= 101);
    assert.match(letter.field_paths.at(-1)!, /^… \d+ more$/);
  });

  test('an event with no usable order_id is dead-lettered unkeyed, to partition 0', () => {
    const batch = emptyBatch();
    encoder()(batch, null, context());
    encoder()(batch, { order_id: { nested: true } }, context());
    assert.deepEqual(
      batch.deadLetters.map((m) => [m.key, m.partition]),
      [
        [null, 0],
        [null, 0],
      ],
    );
    assert.equal(deadLetterOf(batch.deadLetters[0]!.value).error_message, '(root): expected a record, got null');
  });
});
