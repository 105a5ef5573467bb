// The OrderEvent schema, loaded from schemas/OrderEvent.avsc (the one source of truth), and the
// TypeScript shape kept in step with it by test/schema-order-event.test.ts ("OrderEvent schema").
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { Int64Type } from './long-type.ts';

export const ORDER_STATUSES = ['CREATED', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderEvent {
  /** Avro long: a number up to 2^53, a bigint beyond (run-derived ids are bigints). */
  order_id: number | bigint;
  customer_id: string;
  order_status: OrderStatus;
  order_total: number;
  /** Epoch milliseconds (Avro long with logicalType timestamp-millis). */
  created_at: number;
}

export interface LoadedSchema {
  /** The schema text sent to the registry (the .avsc, compacted). */
  text: string;
  /** The compiled avsc type used for validation and encoding. */
  type: avro.Type;
}

export function loadSchema(file: URL): LoadedSchema {
  const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return {
    text: JSON.stringify(json),
    type: avro.Type.forSchema(json as avro.Schema, { registry: { long: Int64Type } }),
  };
}

export const ORDER_EVENT_SCHEMA_FILE = new URL('../../schemas/OrderEvent.avsc', import.meta.url);
export const DEAD_LETTER_SCHEMA_FILE = new URL('../../schemas/OrderEventDeadLetter.avsc', import.meta.url);
