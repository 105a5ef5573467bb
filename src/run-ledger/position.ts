// The position records of cursor sources (src/sources/contract.ts): one key per source and topic,
// rewritten by every run of the source in its own transaction, so the latest record (the one a
// compacted topic keeps) is where the next run starts. Its transactional id is the source's, not
// a slot's: every run of the source, whatever its nominal time or origin, fences every earlier one.
import { z } from 'zod';
import { LedgerError } from '../errors.ts';
import { decodeJson } from '../json.ts';
import { TRANSACTIONAL_ID_PREFIX } from './identity.ts';
import { reportFields, type RunReport } from './record.ts';

/** `src|<topic>|<source>`: a topic name has no `|`, and the source name is last. */
export function positionKey(topic: string, source: string): string {
  return `src|${topic}|${source}`;
}

export function sourceTransactionalId(topic: string, source: string): string {
  return `${TRANSACTIONAL_ID_PREFIX}|${positionKey(topic, source)}`;
}

const positionSchema = z.object({
  version: z.literal(3),
  key: z.string().min(1),
  source: z.string().min(1),
  /** Where the run started (the previous record's `to`), null: the source's beginning. */
  from: z.string().nullable(),
  /** Where the next run starts. */
  to: z.string().nullable(),
  /** The most events the run was allowed to publish. */
  maxEvents: z.number().int().min(0), // 0: `outbox adopt-slot`, which records a position only
  ledgerPartitions: z.number().int().min(1),
  ...reportFields,
  workflowId: z.string().min(1),
  runId: z.string(),
  attempt: z.number().int().min(1),
  nominalTime: z.string().min(1),
  committedAt: z.string(),
});

export type PositionRecord = z.infer<typeof positionSchema>;

/** What a cursor run writes besides its report. */
export interface PositionRun {
  source: string;
  from: string | null;
  to: string | null;
  maxEvents: number;
  workflowId: string;
  runId: string;
  attempt: number;
  nominalTime: string;
}

export function positionRecord(
  key: string,
  ledgerPartitions: number,
  run: PositionRun,
  report: RunReport,
  committedAt: string,
): PositionRecord {
  return { version: 3, key, ledgerPartitions, ...run, ...report, committedAt };
}

export function encodePositionRecord(record: PositionRecord): Buffer {
  return Buffer.from(JSON.stringify(positionSchema.parse(record)));
}

export function decodePositionRecord(key: string, value: Buffer): PositionRecord {
  const record = decodeJson(value.toString('utf8'), positionSchema, (p) =>
    p.kind === 'syntax'
      ? new LedgerError(`the run ledger's position record ${key} is not JSON`)
      : new LedgerError(`the run ledger's position record ${key} is malformed (${p.issues})`),
  );
  if (record.key !== key) throw new LedgerError(`the position record under ${key} names ${record.key}`);
  return record;
}
