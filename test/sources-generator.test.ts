// The tutorial's generator (src/sources/generator.ts): a run's events are a pure function of the
// run (nominal time, count, order-id block), valid OrderEvents, and at most MAX_EVENTS_PER_RUN.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_EVENTS_PER_RUN } from '../src/run-ledger/index.ts';
import { ORDER_EVENT_SCHEMA_FILE, loadSchema } from '../src/schema/order-event.ts';
import { validate } from '../src/schema/validate.ts';
import { generatorSource, orderEventsForRun } from '../src/sources/generator.ts';

describe('generator', () => {
  const at = Date.parse('2026-11-28T09:05:00Z');
  const base = 2n ** 52n + 17n; // beyond 2^32, as run blocks are

  test("a run's events: its order-id block in order, the nominal time, the status cycle and totals", () => {
    const events = [...orderEventsForRun(at, 4, base)];
    assert.deepEqual(events, [
      { order_id: base, customer_id: 'cust_1000', order_status: 'CREATED', order_total: 50, created_at: at },
      { order_id: base + 1n, customer_id: 'cust_1001', order_status: 'CONFIRMED', order_total: 60.5, created_at: at },
      { order_id: base + 2n, customer_id: 'cust_1002', order_status: 'SHIPPED', order_total: 71, created_at: at },
      { order_id: base + 3n, customer_id: 'cust_1003', order_status: 'CREATED', order_total: 81.5, created_at: at },
    ]);
  });

  test('the same run gives the same events in every try; another run, other ids or times', () => {
    assert.deepEqual([...orderEventsForRun(at, 50, base)], [...orderEventsForRun(at, 50, base)]);
    const other = [...orderEventsForRun(at + 300_000, 50, base + 1000n)];
    assert.equal(other[0]!.order_id, base + 1000n);
    assert.equal(other[49]!.created_at, at + 300_000);
    assert.deepEqual([...orderEventsForRun(at, 0, base)], []);
  });

  test('every event is a valid OrderEvent (the schema its run is encoded with)', () => {
    const { type } = loadSchema(ORDER_EVENT_SCHEMA_FILE);
    for (const event of orderEventsForRun(at, 1000, base)) {
      assert.deepEqual(
        validate(type, event),
        [],
        JSON.stringify(event, (_k, v: unknown) => String(v)),
      );
    }
  });

  test('at most MAX_EVENTS_PER_RUN events per run: one more is a RangeError', () => {
    assert.throws(() => [...orderEventsForRun(at, MAX_EVENTS_PER_RUN + 1, base)], {
      name: 'RangeError',
      message: `at most ${MAX_EVENTS_PER_RUN} events per run`,
    });
    const first = orderEventsForRun(at, MAX_EVENTS_PER_RUN, base).next();
    assert.ok(!first.done, 'the maximum itself is allowed');
    assert.equal(first.value.order_id, base);
  });

  test('as a RunSource: kind run, named generator, its events those of the run it is given', () => {
    assert.equal(generatorSource.kind, 'run');
    assert.equal(generatorSource.name, 'generator');
    const events = generatorSource.events({ nominalTimeMs: at, eventCount: 3, firstOrderId: base });
    assert.deepEqual([...(events as Iterable<unknown>)], [...orderEventsForRun(at, 3, base)]);
  });
});
