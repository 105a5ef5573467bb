// The events of one run, derived only from the run (its identity and nominal time), never from the
// clock of the attempt: a retry regenerates exactly the same events, so Kafka sees the same keys
// and the run ledger can recognise a run that already committed.
import type { OrderEvent, OrderStatus } from '../schema/order-event.ts';
import { MAX_EVENTS_PER_RUN } from '../run-ledger/index.ts';
import type { RunSource } from './contract.ts';

const STATUSES: OrderStatus[] = ['CREATED', 'CONFIRMED', 'SHIPPED'];

/**
 * The tutorial's events (customer, status cycle, totals), with order ids `firstOrderId + index`:
 * the run's own block of ids (src/run-ledger/identity.ts orderIdBase), stable across its retries.
 */
export function* orderEventsForRun(nominalTimeMs: number, count: number, firstOrderId: bigint): Generator<OrderEvent> {
  if (count > MAX_EVENTS_PER_RUN) throw new RangeError(`at most ${MAX_EVENTS_PER_RUN} events per run`);
  for (let i = 0; i < count; i++) {
    yield {
      order_id: firstOrderId + BigInt(i),
      customer_id: `cust_${1000 + i}`,
      order_status: STATUSES[i % 3]!,
      order_total: Math.round((50 + i * 10.5) * 100) / 100,
      created_at: nominalTimeMs,
    };
  }
}

/** The tutorial's generator as a RunSource: the default source (EVENT_SOURCE=generator). */
export const generatorSource: RunSource = {
  kind: 'run',
  name: 'generator',
  events: ({ nominalTimeMs, eventCount, firstOrderId }) => orderEventsForRun(nominalTimeMs, eventCount, firstOrderId),
};
