// The ledger record: what a run produced and who produced it, written in the run's own Kafka
// transaction with its last batch. Validated on the way in and on the way out (never cast): a
// record that does not parse is a LedgerError, because guessing could produce a run twice.
//
// Two versions are read: v2 (keyed by the run's whole identity, see identity.ts) and the records
// written before identities were complete (keyed by the slot's time alone, no `version`), so a
// ledger written by an earlier release keeps answering for the runs it holds.
import { z } from 'zod';
import { LedgerError } from '../errors.ts';
import { decodeJson } from '../json.ts';

/**
 * One partition's records of a run: how many events the run wrote to one partition of the events
 * topic, and the offsets of the first and the last of them. The one name for this shape (the run
 * report, the ledger record and the activity's result all hold it).
 */
export interface PartitionSummary {
  /** The partition of the events topic. */
  partition: number;
  /**
   * The offsets of the run's first and last record on the partition; null when not known: the
   * librdkafka backend reports no offsets, and the report a run's ledger record holds is taken
   * before its last batch is acknowledged, so that batch's offsets are missing there.
   */
  firstOffset: number | null;
  lastOffset: number | null;
  /** How many of the run's events the partition holds. */
  count: number;
}

/**
 * What a run produced in its transaction: the engine returns it, the ledger records it with the
 * run (so a run found already produced can tell what it produced), and the activity returns it to
 * the workflow.
 */
export interface RunReport {
  /** The events topic. */
  topic: string;
  /** Events produced to `topic`. */
  acknowledged: number;
  /** Events that failed validation or encoding and went to `dlqTopic` instead. */
  deadLettered: number;
  dlqTopic: string;
  /** Where the events are: one entry per partition of `topic` that received any, in partition order. */
  partitions: PartitionSummary[];
  /** The schema registry id the events were encoded with. */
  schemaId: number;
  /** How long the run took to produce, in milliseconds. */
  durationMs: number;
}

/** What a run was asked to produce: part of what is compared before a run is "already produced". */
export interface RunParams {
  eventCount: number;
}

const offset = z.number().int().min(0).nullable();
const count = z.number().int().min(0);
/** The RunReport's fields, as every ledger record (a run's, a source position's) stores them. */
export const reportFields = {
  topic: z.string().min(1),
  acknowledged: count,
  deadLettered: count,
  dlqTopic: z.string().min(1),
  partitions: z.array(z.object({ partition: count, firstOffset: offset, lastOffset: offset, count })),
  schemaId: count,
  durationMs: count,
};
const producedBy = {
  workflowId: z.string().min(1),
  runId: z.string(),
  attempt: z.number().int().min(1),
  firstOrderId: z.string().regex(/^\d+$/),
  lastOrderId: z.string().regex(/^\d+$/),
  committedAt: z.string(),
};

const v2Schema = z.object({
  version: z.literal(2),
  key: z.string().min(1),
  origin: z.string().min(1),
  nominalTime: z.string().min(1),
  params: z.object({ eventCount: z.number().int().min(1) }),
  /** The ledger's partition count when the record was written (its key's partition depends on it). */
  ledgerPartitions: z.number().int().min(1),
  ...reportFields,
  ...producedBy,
});

const legacySchema = z.object({ slot: z.string().min(1), ...reportFields, ...producedBy });

/** A run's record (this release). */
export type LedgerRecord = z.infer<typeof v2Schema>;
/** A record written before run identities were complete: keyed by the slot's time alone. */
export type LegacyLedgerRecord = z.infer<typeof legacySchema>;

export function encodeLedgerRecord(record: LedgerRecord): Buffer {
  return Buffer.from(JSON.stringify(v2Schema.parse(record)));
}

/** Decodes the record stored under `key`: v2 for `v2|…` keys, the earlier format otherwise. */
export function decodeLedgerRecord(key: string, value: Buffer): LedgerRecord | LegacyLedgerRecord {
  const shape: z.ZodType<LedgerRecord | LegacyLedgerRecord> = key.startsWith('v2|') ? v2Schema : legacySchema;
  const record = decodeJson(value.toString('utf8'), shape, (p) =>
    p.kind === 'syntax'
      ? new LedgerError(`the run ledger's record for ${key} is not JSON`)
      : new LedgerError(`the run ledger's record for ${key} is malformed (${p.issues})`),
  );
  const named = 'key' in record ? record.key : record.slot;
  if (named !== key) throw new LedgerError(`the run ledger's record for ${key} names another run (${named})`);
  return record;
}

export function isLegacy(record: LedgerRecord | LegacyLedgerRecord): record is LegacyLedgerRecord {
  return !('version' in record);
}

/** The request a record answers: v2 stores it; an earlier record's order ids give its event count. */
export function paramsOf(record: LedgerRecord | LegacyLedgerRecord): RunParams {
  if (!isLegacy(record)) return record.params;
  return { eventCount: Number(BigInt(record.lastOrderId) - BigInt(record.firstOrderId)) + 1 };
}
