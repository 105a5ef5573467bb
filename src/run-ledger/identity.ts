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

/** The most events one run may hold: its order ids are base + index, index below this. */
export const MAX_EVENTS_PER_RUN = 2 ** 20;

/**
 * Order ids stay within 2^53 - 1, so every consumer decodes them exactly: avsc's default long,
 * JSON.parse, JavaScript numbers. An id is `second << 23 | offset`: the nominal time's second since
 * 2024-01-01 (30 bits, 34 years, then it wraps) and an offset within that second (23 bits), where
 * the run's ids start at a digest of its identity and run on contiguously. Runs in different
 * seconds never share an id; runs in one second share one only if their ranges overlap (the
 * ledger refuses that, see match.ts).
 */
const SECOND_BITS = 30n;
const OFFSET_BITS = 23n;
const ID_EPOCH_SECONDS = 1_704_067_200n; // 2024-01-01T00:00:00Z
/** Where a run's range may start in its second: any range of up to MAX_EVENTS_PER_RUN ids fits after it. */
const OFFSET_STARTS = 2n ** OFFSET_BITS - BigInt(MAX_EVENTS_PER_RUN) + 1n;

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
 * The run's first order id: the second of its nominal time, then an offset that is a digest of its
 * topic, origin and millisecond. The same in every attempt and execution of the run; below 2^53.
 * A schedule's slots fall on distinct seconds, so its runs never share ids; two origins in one
 * second overlap with odds (n1 + n2 - 1) / 7,340,033 (two 10-event runs: 1 in 386,317).
 */
export function orderIdBase(id: RunIdentity): bigint {
  const ms = BigInt(Math.floor(id.nominalTimeMs));
  const seconds = ms / 1000n - ID_EPOCH_SECONDS;
  const second = ((seconds % 2n ** SECOND_BITS) + 2n ** SECOND_BITS) % 2n ** SECOND_BITS;
  const digest = createHash('sha256')
    .update(`${id.topic}\u0000${originLabel(id.origin)}\u0000${ms % 1000n}`)
    .digest();
  return (second << OFFSET_BITS) + (digest.readBigUInt64BE(0) % OFFSET_STARTS);
}

/** The second (order id >> 23) an order id belongs to: runs can share ids only within one. */
export function orderIdSecond(orderId: bigint): bigint {
  return orderId >> OFFSET_BITS;
}

/** "schedule produce-order-events, slot 2026-11-30T10:00:00.000Z, topic order-events", for messages. */
export function describeRun(id: RunIdentity): string {
  const who = 'schedule' in id.origin ? `schedule ${id.origin.schedule}` : `workflow ${id.origin.workflow}`;
  return `${who}, slot ${slotTime(id.nominalTimeMs)}, topic ${id.topic}`;
}
