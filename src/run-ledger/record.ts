// The ledger record: what a run produced and who produced it, written in the run's own Kafka
// transaction with its last batch. Validated on the way in and on the way out (never cast): a
// record that does not parse is a LedgerError, because guessing could produce a run twice.
//
// Two versions are read: v2 (keyed by the run's whole identity, see identity.ts) and the records
// written before identities were complete (keyed by the slot's time alone, no `version`), so a
// ledger written by an earlier release keeps answering for the runs it holds.
import { z } from 'zod';
import { LedgerError } from '../errors.ts';

/** What one partition of the events topic received in a run. Offsets are null when unknown. */
export interface PartitionSummary {
  partition: number;
  firstOffset: number | null;
  lastOffset: number | null;
  count: number;
}

/** What a run produced: the engine returns it, the ledger records it, the activity reports it. */
export interface RunReport {
  topic: string;
  acknowledged: number;
  deadLettered: number;
  dlqTopic: string;
  partitions: PartitionSummary[];
  schemaId: number;
  durationMs: number;
}

/** What a run was asked to produce: part of what is compared before a run is "already produced". */
export interface RunParams {
  eventCount: number;
}

const offset = z.number().int().min(0).nullable();
const count = z.number().int().min(0);
const report = {
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
  ...report,
  ...producedBy,
});

const legacySchema = z.object({ slot: z.string().min(1), ...report, ...producedBy });

/** A run's record (this release). */
export type LedgerRecord = z.infer<typeof v2Schema>;
/** A record written before run identities were complete: keyed by the slot's time alone. */
export type LegacyLedgerRecord = z.infer<typeof legacySchema>;

export function encodeLedgerRecord(record: LedgerRecord): Buffer {
  return Buffer.from(JSON.stringify(v2Schema.parse(record)));
}

/** Decodes the record stored under `key`: v2 for `v2|…` keys, the earlier format otherwise. */
export function decodeLedgerRecord(key: string, value: Buffer): LedgerRecord | LegacyLedgerRecord {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new LedgerError(`the run ledger's record for ${key} is not JSON`);
  }
  const v2 = key.startsWith('v2|');
  const parsed = (v2 ? v2Schema : legacySchema).safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LedgerError(`the run ledger's record for ${key} is malformed (${where})`);
  }
  const named = 'key' in parsed.data ? parsed.data.key : parsed.data.slot;
  if (named !== key) throw new LedgerError(`the run ledger's record for ${key} names another run (${named})`);
  return parsed.data;
}

export function isLegacy(record: LedgerRecord | LegacyLedgerRecord): record is LegacyLedgerRecord {
  return !('version' in record);
}

/** The request a record answers: v2 stores it; an earlier record's order ids give its event count. */
export function paramsOf(record: LedgerRecord | LegacyLedgerRecord): RunParams {
  if (!isLegacy(record)) return record.params;
  return { eventCount: Number(BigInt(record.lastOrderId) - BigInt(record.firstOrderId)) + 1 };
}
