// What the records read mean for the run being checked: which record is the run's (its own, or an
// earlier release's that was this run's), whether it answered the same request (a changed request
// is refused), and whether another run already holds the run's order ids.
import { LedgerError, RunRequestChangedError } from '../errors.ts';
import { describeRun, orderIdBase, orderIdBlock, slotTime, type RunIdentity } from './identity.ts';
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
  /** Notes the order-id blocks the record read under `key` holds (a tombstone holds none). */
  saw(key: string, value: Buffer | null): void;
  /** Throws a LedgerError when a run other than the one under `key` holds `identity`'s block. */
  checkFree(identity: RunIdentity, key: string): void;
}

/**
 * Which run holds each order-id block (order id >> 20) of each topic, from the records read. Two
 * identities whose digests collide (odds 2^-43 a pair) would share order ids; the second is refused.
 */
export function createBlockOwners(): BlockOwners {
  const owners = new Map<string, string>();
  return {
    saw(key: string, value: Buffer | null) {
      if (!value) return;
      let r: { topic?: unknown; firstOrderId?: unknown; lastOrderId?: unknown };
      try {
        r = JSON.parse(value.toString('utf8')) as typeof r;
      } catch {
        return; // the check that reads this key reports it
      }
      if (
        typeof r.firstOrderId !== 'string' ||
        typeof r.lastOrderId !== 'string' ||
        !/^\d+$/.test(r.firstOrderId + r.lastOrderId)
      )
        return;
      const last = orderIdBlock(BigInt(r.lastOrderId));
      for (let b = orderIdBlock(BigInt(r.firstOrderId)); b <= last; b++) {
        const at = `${String(r.topic)}|${b}`;
        if (!owners.has(at)) owners.set(at, key);
      }
    },
    checkFree(identity: RunIdentity, key: string) {
      const block = orderIdBlock(orderIdBase(identity));
      const owner = owners.get(`${identity.topic}|${block}`);
      if (owner !== undefined && owner !== key) {
        throw new LedgerError(
          `the order ids of ${describeRun(identity)} (block ${block}) are already held by ${owner} in the run ledger: ` +
            'two run identities hashed to the same order-id block (odds 2^-43 a pair); refusing rather than publishing two runs under the same order ids',
        );
      }
    },
  };
}
