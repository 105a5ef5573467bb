// The events of one run, derived only from the run (its nominal time), never from the clock of
// the attempt: a retry regenerates exactly the same events, so Kafka sees the same keys and
// the run ledger can recognise a run that already committed.
import type { OrderEvent, OrderStatus } from '../schema/order-event.ts';

/** Room for this many events per run in the id space (order_id = nominal ms * this + index). */
export const EVENTS_PER_RUN_ID_SPACE = 1_000_000;

const STATUSES: OrderStatus[] = ['CREATED', 'CONFIRMED', 'SHIPPED'];

/**
 * The tutorial's events (customer, status cycle, totals), with order ids that are unique per
 * run and stable across its retries: nominal time in ms × 1,000,000 + index (a 64-bit long).
 */
export function* orderEventsForRun(nominalTimeMs: number, count: number): Generator<OrderEvent> {
  if (count > EVENTS_PER_RUN_ID_SPACE) throw new RangeError(`at most ${EVENTS_PER_RUN_ID_SPACE} events per run`);
  for (let i = 0; i < count; i++) {
    yield {
      order_id: orderIdFor(nominalTimeMs, i),
      customer_id: `cust_${1000 + i}`,
      order_status: STATUSES[i % 3]!,
      order_total: Math.round((50 + i * 10.5) * 100) / 100,
      created_at: nominalTimeMs,
    };
  }
}

export function orderIdFor(nominalTimeMs: number, index: number): bigint {
  return BigInt(nominalTimeMs) * BigInt(EVENTS_PER_RUN_ID_SPACE) + BigInt(index);
}
