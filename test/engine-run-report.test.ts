// The run report builder (src/engine/run-report.ts): counts and per-partition offsets as batches are
// acknowledged, offsets unknown (null) where the backend reports none, and the report the ledger
// record carries before the last batch lands.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRunReportBuilder } from '../src/engine/run-report.ts';

const fixed = { topic: 'events', dlqTopic: 'events.dlq', schemaId: 7 };

describe('run report', () => {
  test('offsets per partition span every batch; counts add up; partitions in order', () => {
    let duration = 5;
    const builder = createRunReportBuilder(fixed, () => duration);
    builder.acknowledged(
      [
        { topic: 'events', partition: 2, baseOffset: 10 },
        { topic: 'events', partition: 0, baseOffset: 100 },
      ],
      [3, 0, 2],
      1,
    );
    builder.acknowledged([{ topic: 'events', partition: 2, baseOffset: 12 }], [0, 0, 4], 0);
    duration = 9;
    assert.deepEqual(builder.counts, { acknowledged: 9, deadLettered: 1 });
    assert.deepEqual(builder.report(), {
      ...fixed,
      acknowledged: 9,
      deadLettered: 1,
      partitions: [
        { partition: 0, firstOffset: 100, lastOffset: 102, count: 3 },
        { partition: 2, firstOffset: 10, lastOffset: 15, count: 6 },
      ],
      durationMs: 9,
    });
  });

  test('acks for the dead-letter or ledger topics, or for a partition with no events, add no partition', () => {
    const builder = createRunReportBuilder(fixed, () => 0);
    builder.acknowledged(
      [
        { topic: 'events.dlq', partition: 0, baseOffset: 4 },
        { topic: 'events.runs', partition: 1, baseOffset: 8 },
        { topic: 'events', partition: 1, baseOffset: 3 },
      ],
      [2],
      2,
    );
    assert.deepEqual(builder.report().partitions, []);
    assert.equal(builder.report().acknowledged, 2, 'the events are still counted');
  });

  test('a backend that reports no offsets leaves them null, and one null batch makes the partition null', () => {
    const builder = createRunReportBuilder(fixed, () => 0);
    builder.acknowledged([{ topic: 'events', partition: 0, baseOffset: null }], [2], 0);
    builder.acknowledged([{ topic: 'events', partition: 1, baseOffset: 5 }], [0, 1], 0);
    builder.acknowledged([{ topic: 'events', partition: 1, baseOffset: null }], [0, 1], 0);
    builder.acknowledged([{ topic: 'events', partition: 1, baseOffset: 9 }], [0, 1], 0);
    assert.deepEqual(builder.report().partitions, [
      { partition: 0, firstOffset: null, lastOffset: null, count: 2 },
      { partition: 1, firstOffset: null, lastOffset: null, count: 3 },
    ]);
  });

  test('reportWith counts the last batch with its offsets unknown, and changes nothing in the builder', () => {
    const builder = createRunReportBuilder(fixed, () => 1);
    builder.acknowledged([{ topic: 'events', partition: 0, baseOffset: 40 }], [2], 0);
    const before = builder.report();
    const withLast = builder.reportWith([3, 0, 1], 2);
    assert.deepEqual(withLast, {
      ...fixed,
      acknowledged: 6,
      deadLettered: 2,
      partitions: [
        { partition: 0, firstOffset: 40, lastOffset: null, count: 5 },
        { partition: 2, firstOffset: null, lastOffset: null, count: 1 },
      ],
      durationMs: 1,
    });
    assert.deepEqual(builder.report(), before);
    assert.deepEqual(builder.counts, { acknowledged: 2, deadLettered: 0 });
  });
});
