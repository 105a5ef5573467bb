// The run ledger: one record per produced slot (a run's nominal time), written in the same Kafka
// transaction as the slot's events. It is how any attempt of any execution of a slot (a retry,
// a reset from the UI, a backfill, a second trigger) learns that the slot is already produced.
// Its key, its record (validated on the way in, not cast) and the report type live here.
import { z } from 'zod';
import { LedgerError } from './errors.ts';

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

/** A ledger record: the report plus who produced the slot and which order ids it holds. */
export interface LedgerRecord extends RunReport {
  slot: string;
  workflowId: string;
  runId: string;
  attempt: number;
  firstOrderId: string;
  lastOrderId: string;
  committedAt: string;
}

/** Looks a slot up in the ledger. Never answers "not produced" unless it read the whole ledger. */
export interface RunLedger {
  /** The slot's record, or undefined when the ledger up to its current end holds none. Throws LedgerError when it cannot tell. */
  lookup(key: string): Promise<LedgerRecord | undefined>;
  /** Reads the ledger to its end ahead of the first lookup (a worker calls it at start). */
  warm(): Promise<void>;
}

/** The ledger key of a slot: its nominal time, to the millisecond (the order ids derive from it). */
export function slotKey(nominalTimeMs: number): string {
  return new Date(nominalTimeMs).toISOString();
}

/**
 * The transactional id of every attempt of one slot, in any worker process: a new attempt's
 * producer registers it and so fences every earlier producer of the slot before deciding.
 */
export function slotTransactionalId(prefix: string, topic: string, key: string): string {
  return `${prefix}.${topic}.${key}`;
}

const offset = z.number().int().min(0).nullable();
const count = z.number().int().min(0);
const recordSchema = z.object({
  slot: z.string().min(1),
  workflowId: z.string().min(1),
  runId: z.string(),
  attempt: z.number().int().min(1),
  topic: z.string().min(1),
  acknowledged: count,
  deadLettered: count,
  dlqTopic: z.string().min(1),
  partitions: z.array(z.object({ partition: count, firstOffset: offset, lastOffset: offset, count })),
  schemaId: count,
  durationMs: count,
  firstOrderId: z.string().regex(/^\d+$/),
  lastOrderId: z.string().regex(/^\d+$/),
  committedAt: z.string(),
});

export function encodeLedgerRecord(record: LedgerRecord): Buffer {
  return Buffer.from(JSON.stringify(recordSchema.parse(record)));
}

/**
 * Decodes a ledger record. A record that does not match (another version, a foreign writer) is a
 * LedgerError naming the key and field: guessing could produce a slot twice.
 */
export function decodeLedgerRecord(key: string, value: Buffer): LedgerRecord {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new LedgerError(`the run ledger's record for ${key} is not JSON`);
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LedgerError(`the run ledger's record for ${key} is malformed (${where})`);
  }
  if (parsed.data.slot !== key) {
    throw new LedgerError(`the run ledger's record for ${key} names another slot (${parsed.data.slot})`);
  }
  return parsed.data;
}
