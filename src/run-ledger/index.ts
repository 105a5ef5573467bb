// The run ledger: one record per produced run, written in the same Kafka transaction as the run's
// events, so any attempt of any execution of a run (a retry, a reset from the UI, a backfill, a
// second trigger, a zombie's successor) learns that it is already produced. This module is its one
// entry point: the engine asks `check` once its transaction is open (every earlier producer of
// the run fenced) and rides `entryFor`'s record on its last batch.
//
//   identity.ts  the run's identity: ledger key, transactional id, order ids
//   record.ts    the record codec (this release's and the earlier slot-keyed format)
//   reader.ts    the warm, fail-closed reader (one consumer per worker)
//   topic.ts     the topic's settings and the partition a key lives on
import type { Kafka } from 'kafkajs';
import { LedgerError, LedgerRetentionError, RunRequestChangedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  describeRun,
  legacyKey,
  orderIdBase,
  orderIdBlock,
  originLabel,
  runKey,
  slotTime,
  type RunIdentity,
} from './identity.ts';
import { createLedgerReader, type LedgerEntry } from './reader.ts';
import {
  decodeLedgerRecord,
  encodeLedgerRecord,
  isLegacy,
  paramsOf,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunParams,
  type RunReport,
} from './record.ts';
import { ledgerPartitionOf } from './topic.ts';

export * from './identity.ts';
export type { LedgerRecord, LegacyLedgerRecord, PartitionSummary, RunParams, RunReport } from './record.ts';
export { decodeLedgerRecord, encodeLedgerRecord } from './record.ts';
export { ledgerPartitionOf, ledgerTopicConfig } from './topic.ts';

/** Where a run's record goes when the ledger holds none: decided by the check, used by `entryFor`. */
export interface LedgerPlace {
  topic: string;
  key: string;
  partition: number;
  partitionCount: number;
}

export type LedgerAnswer =
  { status: 'absent'; place: LedgerPlace } | { status: 'produced'; record: LedgerRecord | LegacyLedgerRecord };

/** The record as a message for the ledger topic (an OutgoingMessage of src/kafka/producer.ts). */
export interface LedgerMessage {
  key: string;
  value: Buffer;
  partition: number;
}

/** Who produced a run, and the order ids it holds. */
export interface ProducedBy {
  workflowId: string;
  runId: string;
  attempt: number;
  firstOrderId: string;
  lastOrderId: string;
}

export interface RunLedger {
  readonly topic: string;
  /**
   * What the ledger says about `identity` asked with `params`. Call it only once every earlier
   * producer of the run is fenced. Never answers "absent" unless the run's partition was read to
   * its end; refuses a changed request, a slot older than the ledger's retention, and a ledger
   * whose partition count changed under its records.
   */
  check(identity: RunIdentity, params: RunParams): Promise<LedgerAnswer>;
  /** The record of a run the check found absent, for the run's last batch. */
  entryFor(
    place: LedgerPlace,
    identity: RunIdentity,
    params: RunParams,
    report: RunReport,
    by: ProducedBy,
  ): LedgerMessage;
  /** The ledger topic's real retention (its retention.ms; Infinity when it never deletes by age). */
  retentionMs(): Promise<number>;
  /** Reads the whole ledger ahead of the first check (a worker calls it at start). */
  warm(): Promise<void>;
  close(): Promise<void>;
}

export interface RunLedgerDeps {
  kafka: Kafka;
  topic: string;
  /** Bound on one read of the ledger (KAFKA_LEDGER_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  /** The ledger topic's real retention (ms; Infinity when records are never deleted by age). */
  retentionMs(): Promise<number>;
  now?: () => number;
}

/** How close to the retention limit a slot may be: room for clock skew between worker and broker. */
const retentionMargin = (retentionMs: number) => Math.min(5 * 60_000, retentionMs / 10);

export function createRunLedger(deps: RunLedgerDeps): RunLedger {
  const { topic } = deps;
  const now = deps.now ?? Date.now;
  const placement = createPlacementCheck(topic);
  const blocks = createBlockOwners();
  /** The partition count at which the whole ledger was last read (and its placement verified). */
  let fullyReadAt: number | undefined;
  const reader = createLedgerReader({
    kafka: deps.kafka,
    topic,
    timeoutMs: deps.timeoutMs,
    logger: deps.logger,
    // The ledger's own checks on every record it reads.
    onRecord: (key, entry) => {
      placement.saw(key, entry.partition);
      blocks.saw(key, entry.value);
    },
  });

  async function guardRetention(identity: RunIdentity): Promise<void> {
    const retention = await deps.retentionMs();
    const age = now() - identity.nominalTimeMs;
    if (!Number.isFinite(retention) || age < retention - retentionMargin(retention)) return;
    const days = (ms: number) => `${(ms / 86_400_000).toFixed(1)} days`;
    throw new LedgerRetentionError(
      `refusing slot ${slotTime(identity.nominalTimeMs)} (${describeRun(identity)}): it is ${days(age)} old and the ` +
        `run ledger ${topic} keeps records ${days(retention)} (retention.ms=${retention}), so it can no longer tell ` +
        `whether this run was produced; producing it could publish its events twice`,
    );
  }

  return {
    topic,

    async check(identity, params) {
      await guardRetention(identity);
      const partitionCount = await reader.partitionCount();
      const key = runKey(identity);
      const partition = ledgerPartitionOf(key, partitionCount);
      // Ledgers written before run identities were complete have one partition (topics ensure made
      // them so) and keyed records by slot time; a larger ledger never held such records.
      const legacy = partitionCount === 1 ? legacyKey(identity.nominalTimeMs) : undefined;
      const keys = legacy ? [key, legacy] : [key];
      // Once per process (and again if the count changes), the whole ledger is read before a check
      // trusts one partition: only then is every record's placement known to match the count.
      const whole = fullyReadAt !== partitionCount;
      const found = await reader.read(whole ? undefined : [partition], keys);
      placement.verify(partitionCount);
      fullyReadAt = partitionCount;
      const record =
        decoded(key, found.get(key)) ??
        (legacy ? legacyMatch(identity, decoded(legacy, found.get(legacy))) : undefined);
      if (record) {
        const asked = paramsOf(record);
        if (JSON.stringify(asked) !== JSON.stringify(params)) {
          throw new RunRequestChangedError(
            `${describeRun(identity)} was already produced with ${JSON.stringify(asked)} ` +
              `(by ${record.workflowId}, ${record.committedAt}); this run asks for ${JSON.stringify(params)}. ` +
              'A produced run is never changed: start a new run (another slot or a manual run) for the difference',
          );
        }
        return { status: 'produced', record };
      }
      blocks.checkFree(identity, key);
      return { status: 'absent', place: { topic, key, partition, partitionCount } };
    },

    entryFor(place, identity, params, report, by) {
      const record: LedgerRecord = {
        version: 2,
        key: place.key,
        origin: originLabel(identity.origin),
        nominalTime: slotTime(identity.nominalTimeMs),
        params,
        ledgerPartitions: place.partitionCount,
        ...report,
        ...by,
        committedAt: new Date(now()).toISOString(),
      };
      return { key: place.key, value: encodeLedgerRecord(record), partition: place.partition };
    },

    retentionMs: () => deps.retentionMs(),
    async warm() {
      const partitionCount = await reader.partitionCount();
      await reader.read(undefined, []);
      placement.verify(partitionCount);
      fullyReadAt = partitionCount;
    },
    close: () => reader.close(),
  };
}

function decoded(key: string | undefined, entry: LedgerEntry | undefined) {
  return key && entry?.value ? decodeLedgerRecord(key, entry.value) : undefined;
}

/**
 * A key's partition depends on the partition count, so a ledger whose count changed after records
 * were written could hide a produced run on a partition the check does not wait for. Every record
 * read must sit where its key belongs under today's count; if one does not, every check fails
 * (non-retryably) instead of ever answering "not produced".
 */
function createPlacementCheck(topic: string) {
  const where = new Map<string, number>();
  let pending: string[] = [];
  let verifiedFor: number | undefined;
  let misplaced: string | undefined;
  return {
    saw(key: string, partition: number) {
      where.set(key, partition);
      pending.push(key);
    },
    verify(partitionCount: number) {
      const keys = verifiedFor === partitionCount ? pending : [...where.keys()];
      pending = [];
      verifiedFor = partitionCount;
      for (const key of keys) {
        const at = where.get(key)!;
        const belongs = ledgerPartitionOf(key, partitionCount);
        if (!misplaced && at !== belongs) {
          misplaced =
            `the run ledger ${topic} holds ${key} on partition ${at}, but with ${partitionCount} partitions that key ` +
            `belongs on partition ${belongs}: the ledger's partition count changed after records were written, so a ` +
            `check could miss a produced run. Restore its partition count, or see docs/exactly-once.md ("the ledger's partitions")`;
        }
      }
      if (misplaced) throw new LedgerError(misplaced);
    },
  };
}

/**
 * Which run holds each order-id block (order id >> 20) of each topic, from the records read. Two
 * identities whose digests collide (odds 2^-43 a pair) would share order ids; the second is refused.
 */
function createBlockOwners() {
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
