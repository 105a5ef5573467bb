// A run's identity: what decides what a run produces and where. Two different runs never share a
// ledger key, a transactional id (the fence) or an order id; every attempt and every execution of
// the same run (a retry, a reset, a backfill of a slot, a zombie) shares all three.
//
//   topic        the events topic the run produces to
//   origin       the schedule that started it (TemporalScheduledById), or, for a run started by
//                hand, its workflow id
//   nominal time the schedule's slot (TemporalScheduledStartTime), or the workflow's start time
//
// The request (how many events) is not part of the key: it is stored in the ledger record and
// compared, so a changed request for a produced run is refused instead of answered from the ledger
// (see match.ts).
import { createHash } from 'node:crypto';

export type RunOrigin = { schedule: string } | { workflow: string };

export interface RunIdentity {
  topic: string;
  origin: RunOrigin;
  nominalTimeMs: number;
}

/** A fixed prefix: ACLs can grant `TransactionalId` by it. Never a per-process or per-deployment setting. */
export const TRANSACTIONAL_ID_PREFIX = 'order-events-producer';

/** Order ids of a run: base + index, index below 2^20 (so at most 1,048,576 events per run). */
const ORDER_ID_INDEX_BITS = 20n;
export const MAX_EVENTS_PER_RUN = 2 ** Number(ORDER_ID_INDEX_BITS);

export function originLabel(origin: RunOrigin): string {
  return 'schedule' in origin ? `schedule:${origin.schedule}` : `workflow:${origin.workflow}`;
}

/** The origin of a run started by `scheduleId`, or (no schedule) by hand as `workflowId`. */
export function originOf(scheduleId: string | undefined, workflowId: string): RunOrigin {
  return scheduleId ? { schedule: scheduleId } : { workflow: workflowId };
}

export function slotTime(nominalTimeMs: number): string {
  return new Date(nominalTimeMs).toISOString();
}

/**
 * The run's ledger key: `v2|<topic>|<nominal time>|<origin>`. A topic name has no `|`, an ISO time
 * none either, so the key is unambiguous whatever the schedule or workflow id holds.
 */
export function runKey(id: RunIdentity): string {
  return `v2|${id.topic}|${slotTime(id.nominalTimeMs)}|${originLabel(id.origin)}`;
}

/**
 * The transactional id of every attempt of the run, in any worker process, whatever its settings:
 * a new attempt's producer registers it and so fences every earlier producer of the same run.
 */
export function runTransactionalId(id: RunIdentity): string {
  return `${TRANSACTIONAL_ID_PREFIX}|${runKey(id)}`;
}

/** The key runs were recorded under before identities were complete (the slot's time alone). */
export function legacyKey(nominalTimeMs: number): string {
  return slotTime(nominalTimeMs);
}

/**
 * The run's first order id: a 43-bit digest of its identity shifted past the 20-bit event index,
 * so every order id is a positive Avro long, the same in every attempt and execution of the run,
 * and different runs' ids differ unless their digests collide (2^-43 per pair of runs on a topic;
 * the ledger refuses a run whose block it already holds for another run, see match.ts).
 */
export function orderIdBase(id: RunIdentity): bigint {
  const digest = createHash('sha256')
    .update(`${id.topic}\u0000${originLabel(id.origin)}\u0000${id.nominalTimeMs}`)
    .digest();
  return (digest.readBigUInt64BE(0) >> (64n - 43n)) << ORDER_ID_INDEX_BITS;
}

/** The block (order id >> 20) an order id belongs to: one block per run. */
export function orderIdBlock(orderId: bigint): bigint {
  return orderId >> ORDER_ID_INDEX_BITS;
}

/** "schedule produce-order-events, slot 2026-11-30T10:00:00.000Z, topic order-events", for messages. */
export function describeRun(id: RunIdentity): string {
  const who = 'schedule' in id.origin ? `schedule ${id.origin.schedule}` : `workflow ${id.origin.workflow}`;
  return `${who}, slot ${slotTime(id.nominalTimeMs)}, topic ${id.topic}`;
}
