// The run ledger: one record per produced run, written in the same Kafka transaction as the run's
// events, so any attempt of any execution of a run (a retry, a reset from the UI, a backfill, a
// second trigger, a zombie's successor) learns that it is already produced. This module is its one
// entry point: the engine asks `check` once its transaction is open (every earlier producer of
// the run fenced) and rides `entryFor`'s record on its last batch.
//
//   identity.ts   the run's identity: ledger key, transactional id, order ids
//   record.ts     the record codec (this release's and the earlier format keyed by nominal time alone)
//   position.ts   a cursor source's position record: its key, transactional id and codec
//   match.ts      what the records read mean for a run: its record, its request, its order ids
//   placement.ts  the check that every record read sits on its key's partition
//   reader.ts     the warm, fail-closed reader (one consumer per worker)
//   topic.ts      the topic's settings, the partition a key lives on, the topics a deployment needs
//   ledgers.ts    one warm ledger per ledger topic and process, over the cluster client
import type { Kafka } from 'kafkajs';
import { LedgerRetentionError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { describeRun, legacyKey, originLabel, runKey, slotTime, type RunIdentity } from './identity.ts';
import { createBlockOwners, recordOfRun, refuseChangedRequest, type BlockOwners } from './match.ts';
import { createPlacementCheck, type PlacementCheck } from './placement.ts';
import { createLedgerReader, type LedgerEntry, type LedgerReader } from './reader.ts';
import {
  encodeLedgerRecord,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunParams,
  type RunReport,
} from './record.ts';
import { ledgerPartitionOf } from './topic.ts';
import {
  decodePositionRecord,
  encodePositionRecord,
  positionKey,
  positionRecord,
  type PositionRecord,
  type PositionRun,
} from './position.ts';

export { positionKey, sourceTransactionalId, type PositionRecord, type PositionRun } from './position.ts';
export {
  MAX_EVENTS_PER_RUN,
  legacyKey,
  orderIdBase,
  originLabel,
  originOf,
  runKey,
  runTransactionalId,
  slotTime,
  type RunIdentity,
  type RunOrigin,
} from './identity.ts';
export type { LedgerRecord, LegacyLedgerRecord, PartitionSummary, RunParams, RunReport } from './record.ts';
export { decodeLedgerRecord, encodeLedgerRecord } from './record.ts';
export { ledgerPartitionOf } from './topic.ts';

/** Where a run's record goes when the ledger holds none: decided by the check, used by `entryFor`. */
interface LedgerPlace {
  topic: string;
  key: string;
  partition: number;
  partitionCount: number;
}

type LedgerAnswer =
  { status: 'absent'; place: LedgerPlace } | { status: 'produced'; record: LedgerRecord | LegacyLedgerRecord };

/** The record as a message for the ledger topic (an OutgoingMessage of src/kafka/event-producer.ts). */
interface LedgerMessage {
  key: string;
  value: Buffer;
  partition: number;
}

/** Who produced a run, and the order ids it holds. */
interface ProducedBy {
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
   * its end; refuses a changed request, a run whose nominal time is older than the ledger's retention, and a ledger
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
  /**
   * The latest position record of a cursor source on `topic` (undefined: the source never ran), and
   * where the next one goes. Call it only once every earlier producer of the source is fenced; like
   * `check`, it reads the key's partition to its end first.
   */
  position(topic: string, source: string): Promise<{ record: PositionRecord | undefined; place: LedgerPlace }>;
  /** A cursor run's position record, for its last batch. */
  positionEntry(place: LedgerPlace, run: PositionRun, report: RunReport): LedgerMessage;
  /** The ledger topic's real retention (its retention.ms; Infinity when it never deletes by age). */
  retentionMs(): Promise<number>;
  /** Reads the whole ledger ahead of the first check (a worker calls it at start). */
  warm(): Promise<void>;
  close(): Promise<void>;
}

interface RunLedgerDeps {
  kafka: Kafka;
  topic: string;
  /** Bound on one read of the ledger (KAFKA_LEDGER_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  /** The ledger topic's real retention (ms; Infinity when records are never deleted by age). */
  retentionMs(): Promise<number>;
  now?: () => number;
}

/** How close to the retention limit a run's nominal time may be: room for clock skew between worker and broker. */
const retentionMargin = (retentionMs: number) => Math.min(5 * 60_000, retentionMs / 10);

/** One ledger's reader and what its checks have learned, shared by the steps of every check. */
interface LedgerState {
  readonly reader: LedgerReader;
  readonly placement: PlacementCheck;
  readonly blocks: BlockOwners;
  readonly now: () => number;
  /** The partition count at which the whole ledger was last read (and its placement verified). */
  fullyReadAt: number | undefined;
}

export function createRunLedger(deps: RunLedgerDeps): RunLedger {
  const { topic } = deps;
  const state = openLedgerState(deps);
  return {
    topic,
    check: (identity, params) => checkRun(deps, state, identity, params),

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
        committedAt: new Date(state.now()).toISOString(),
      };
      return { key: place.key, value: encodeLedgerRecord(record), partition: place.partition };
    },

    async position(topic, source) {
      const partitionCount = await state.reader.partitionCount();
      const key = positionKey(topic, source);
      const partition = ledgerPartitionOf(key, partitionCount);
      const found = await readLedgerPartition(state, partition, partitionCount, [key]);
      const value = found.get(key)?.value;
      return {
        record: value ? decodePositionRecord(key, value) : undefined,
        place: { topic: deps.topic, key, partition, partitionCount },
      };
    },

    positionEntry(place, run, report) {
      const record = positionRecord(place.key, place.partitionCount, run, report, new Date(state.now()).toISOString());
      return { key: place.key, value: encodePositionRecord(record), partition: place.partition };
    },

    retentionMs: () => deps.retentionMs(),
    warm: () => readWholeLedger(state),
    close: () => state.reader.close(),
  };
}

function openLedgerState(deps: RunLedgerDeps): LedgerState {
  const placement = createPlacementCheck(deps.topic);
  const blocks = createBlockOwners();
  const reader = createLedgerReader({
    kafka: deps.kafka,
    topic: deps.topic,
    timeoutMs: deps.timeoutMs,
    logger: deps.logger,
    // The ledger's own checks on every record it reads.
    onRecord: (key, entry) => {
      placement.saw(key, entry.partition);
      blocks.saw(key, entry.value);
    },
  });
  return { reader, placement, blocks, now: deps.now ?? Date.now, fullyReadAt: undefined };
}

/** `RunLedger.check`: the run's record if the ledger holds it, else where its record goes. */
async function checkRun(
  deps: RunLedgerDeps,
  state: LedgerState,
  identity: RunIdentity,
  params: RunParams,
): Promise<LedgerAnswer> {
  await guardRetention(deps, state.now, identity);
  const partitionCount = await state.reader.partitionCount();
  const key = runKey(identity);
  const partition = ledgerPartitionOf(key, partitionCount);
  // Ledgers written before run identities were complete have one partition (topics ensure made
  // them so) and keyed records by slot time; a larger ledger never held such records.
  const legacy = partitionCount === 1 ? legacyKey(identity.nominalTimeMs) : undefined;
  const found = await readLedgerPartition(state, partition, partitionCount, legacy ? [key, legacy] : [key]);
  const record = recordOfRun(identity, key, legacy, found);
  if (record) {
    refuseChangedRequest(identity, record, params);
    return { status: 'produced', record };
  }
  state.blocks.checkFree(identity, key, params.eventCount);
  return { status: 'absent', place: { topic: deps.topic, key, partition, partitionCount } };
}

/** Refuses a run so old that the ledger may have deleted its record already. */
async function guardRetention(deps: RunLedgerDeps, now: () => number, identity: RunIdentity): Promise<void> {
  const retention = await deps.retentionMs();
  const age = now() - identity.nominalTimeMs;
  if (!Number.isFinite(retention) || age < retention - retentionMargin(retention)) return;
  const days = (ms: number) => `${(ms / 86_400_000).toFixed(1)} days`;
  throw new LedgerRetentionError(
    `refusing the run of ${slotTime(identity.nominalTimeMs)} (${describeRun(identity)}): it is ${days(age)} old and the ` +
      `run ledger ${deps.topic} keeps records ${days(retention)} (retention.ms=${retention}), so it can no longer tell ` +
      `whether this run was produced; producing it could publish its events twice`,
  );
}

/** Reads a ledger `partition` (the whole ledger when needed) to its end: the entries held for `keys` (runs or positions). */
async function readLedgerPartition(
  state: LedgerState,
  partition: number,
  partitionCount: number,
  keys: string[],
): Promise<Map<string, LedgerEntry>> {
  // Once per process (and again if the count changes), the whole ledger is read before a check
  // trusts one partition: only then is every record's placement known to match the count.
  const whole = state.fullyReadAt !== partitionCount;
  const found = await state.reader.read(whole ? undefined : [partition], keys);
  state.placement.verify(partitionCount);
  state.fullyReadAt = partitionCount;
  return found;
}

/** `RunLedger.warm`: reads every partition to its end and verifies every record's placement. */
async function readWholeLedger(state: LedgerState): Promise<void> {
  const partitionCount = await state.reader.partitionCount();
  await state.reader.read(undefined, []);
  state.placement.verify(partitionCount);
  state.fullyReadAt = partitionCount;
}
