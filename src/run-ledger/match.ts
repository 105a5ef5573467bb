// What the records read mean for the run being checked: which record is the run's (its own, or an
// earlier release's that was this run's), whether it answered the same request (a changed request
// is refused), and whether another run already holds the run's order ids.
import { LedgerError, RunRequestChangedError } from '../errors.ts';
import { describeRun, orderIdBase, orderIdSecond, slotTime, type RunIdentity } from './identity.ts';
import type { LedgerEntry } from './reader.ts';
import {
  decodeLedgerRecord,
  isLegacy,
  paramsOf,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunParams,
} from './record.ts';

/**
 * The run's record among the entries `found`: the one under its `key`, else the one under its
 * `legacy` key when an earlier release wrote it for this run.
 */
export function recordOfRun(
  identity: RunIdentity,
  key: string,
  legacy: string | undefined,
  found: Map<string, LedgerEntry>,
): LedgerRecord | LegacyLedgerRecord | undefined {
  return (
    decoded(key, found.get(key)) ?? (legacy ? legacyMatch(identity, decoded(legacy, found.get(legacy))) : undefined)
  );
}

function decoded(key: string, entry: LedgerEntry | undefined) {
  return key && entry?.value ? decodeLedgerRecord(key, entry.value) : undefined;
}

/**
 * An earlier release's record answers for this run only if it was this run's: the same topic, and
 * the same schedule (its workflow id was `<schedule id>-<slot, RFC 3339 to the second>`) or the
 * same manual workflow.
 */
function legacyMatch(
  identity: RunIdentity,
  record: LedgerRecord | LegacyLedgerRecord | undefined,
): LegacyLedgerRecord | undefined {
  if (!record || !isLegacy(record) || record.topic !== identity.topic) return undefined;
  const { origin } = identity;
  const mine =
    'schedule' in origin
      ? record.workflowId === `${origin.schedule}-${slotTime(identity.nominalTimeMs).replace(/\.\d{3}Z$/, 'Z')}`
      : record.workflowId === origin.workflow;
  return mine ? record : undefined;
}

/** Throws RunRequestChangedError unless the run's `record` answered the request `params`. */
export function refuseChangedRequest(
  identity: RunIdentity,
  record: LedgerRecord | LegacyLedgerRecord,
  params: RunParams,
): void {
  const asked = paramsOf(record);
  if (JSON.stringify(asked) !== JSON.stringify(params)) {
    throw new RunRequestChangedError(
      `${describeRun(identity)} was already produced with ${JSON.stringify(asked)} ` +
        `(by ${record.workflowId}, ${record.committedAt}); this run asks for ${JSON.stringify(params)}. ` +
        'A produced run is never changed: start a new run (another slot or a manual run) for the difference',
    );
  }
}

export interface BlockOwners {
  /** Notes the order ids the record read under `key` holds (a tombstone holds none). */
  saw(key: string, value: Buffer | null): void;
  /** Throws a LedgerError when a run other than the one under `key` holds any of `identity`'s `count` order ids. */
  checkFree(identity: RunIdentity, key: string, count: number): void;
}

interface HeldRange {
  first: bigint;
  last: bigint;
  key: string;
}

/**
 * Which run holds which order ids of each topic, from the records read, by second (order id >> 23):
 * runs in one second whose ranges overlap (orderIdBase's odds) would share order ids, so the
 * second is refused.
 */
export function createBlockOwners(): BlockOwners {
  const held = new Map<string, HeldRange[]>();
  const at = (topic: unknown, second: bigint) => `${String(topic)}|${second}`;
  return {
    saw(key: string, value: Buffer | null) {
      const r = orderIdsOf(value);
      if (!r) return;
      for (let s = orderIdSecond(r.first); s <= orderIdSecond(r.last); s++) {
        const ranges = held.get(at(r.topic, s)) ?? [];
        if (!ranges.some((h) => h.key === key)) ranges.push({ first: r.first, last: r.last, key });
        held.set(at(r.topic, s), ranges);
      }
    },
    checkFree(identity: RunIdentity, key: string, count: number) {
      const first = orderIdBase(identity);
      const last = first + BigInt(Math.max(1, count)) - 1n;
      const owner = (held.get(at(identity.topic, orderIdSecond(first))) ?? []).find(
        (h) => h.key !== key && h.first <= last && first <= h.last,
      );
      if (owner !== undefined) {
        throw new LedgerError(
          `the order ids of ${describeRun(identity)} (${first} … ${last}) overlap ids ${owner.first} … ${owner.last} ` +
            `already held by ${owner.key} in the run ledger: two runs in the same second drew overlapping ranges; ` +
            'refusing rather than publishing two runs under the same order ids (start this run again a second later)',
        );
      }
    },
  };
}

/** A record's topic and order-id range, when it has one. */
function orderIdsOf(value: Buffer | null): { topic: unknown; first: bigint; last: bigint } | undefined {
  if (!value) return undefined;
  let r: { topic?: unknown; firstOrderId?: unknown; lastOrderId?: unknown };
  try {
    r = JSON.parse(value.toString('utf8')) as typeof r;
  } catch {
    return undefined; // the check that reads this key reports it
  }
  const { firstOrderId: f, lastOrderId: l } = r;
  if (typeof f !== 'string' || typeof l !== 'string' || !/^\d+$/.test(f + l)) return undefined;
  return { topic: r.topic, first: BigInt(f), last: BigInt(l) };
}
