// The outbox relay's position: where in one database's WAL the last committed run stopped. It is
// written into the ledger record of the run's own Kafka transaction (the truth) and confirmed to
// the replication slot only after that transaction committed (slot.ts).
//
// It names its database (system identifier, timeline, database, slot), so a position read against
// another one (a restore, a promoted standby, another cluster) is refused instead of being read as
// "nothing new". Within it, `lsn` is the end of the last transaction published whole (every
// transaction whose commit ends at or before it is published), and `inside` the rows already
// published of the next one, when a run stopped inside a transaction larger than its maximum.
import { z } from 'zod';
import { LedgerError } from '../../errors.ts';
import { decodeJson } from '../../json.ts';
import { normalLsn } from './lsn.ts';

/** The database a position belongs to. */
export interface WalOrigin {
  /** pg_control_system().system_identifier: the cluster (kept by a restore, a standby's copy). */
  system: string;
  /** The history's timeline: a restore to a point in time or a promotion starts a new one. */
  timeline: number;
  database: string;
  slot: string;
}

export interface OutboxPosition extends WalOrigin {
  /** Every transaction whose commit record ends at or before this LSN is published. */
  lsn: string;
  /** Rows already published of the transaction that commits at `commit` (the run stopped inside it). */
  inside?: { commit: string; rows: number };
  /** Every row whose transaction id is below this one is published (what `outbox prune` may delete). */
  prunable: string;
  /** When the last transaction published committed (ISO 8601), for messages. */
  committedAt?: string;
}

const lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
const positionSchema = z.strictObject({
  system: z.string().regex(/^\d{1,20}$/),
  timeline: z.number().int().positive(),
  database: z.string().min(1),
  slot: z.string().min(1),
  lsn,
  inside: z.strictObject({ commit: lsn, rows: z.number().int().nonnegative() }).optional(),
  prunable: z.string().regex(/^\d{1,20}$/),
  committedAt: z.string().optional(),
});

export function formatPosition(p: OutboxPosition): string {
  return JSON.stringify({ ...p, lsn: normalLsn(p.lsn), ...(p.inside ? { inside: p.inside } : {}) });
}

export function parsePosition(text: string | undefined): OutboxPosition | undefined {
  if (text === undefined) return undefined;
  if (/^\d+:\d+$/.test(text)) {
    throw new LedgerError(
      `the run ledger's outbox position ${text} is an earlier release's (transaction-id order). This release reads ` +
        `the outbox in commit order through a replication slot: run \`npm run outbox -- init\` (it creates the slot), ` +
        `then \`npm run outbox -- adopt-slot\` to start from the slot (rows committed between the last run of the ` +
        `earlier release and the slot's creation are not published by it: publish those first with that release)`,
    );
  }
  const { inside, committedAt, ...rest } = decodeJson(text, positionSchema, (p) =>
    p.kind === 'syntax'
      ? new LedgerError(`the run ledger's outbox position ${JSON.stringify(text)} is not JSON`)
      : new LedgerError(`the run ledger's outbox position is not one this release wrote: ${p.issues}`),
  );
  return { ...rest, ...(inside ? { inside } : {}), ...(committedAt ? { committedAt } : {}) };
}

/** The position as people read it: `<lsn>` or `<lsn> +<rows> rows of <commit>`. */
export function describePosition(p: OutboxPosition): string {
  return p.inside ? `${p.lsn} (+${p.inside.rows} rows of the transaction committing at ${p.inside.commit})` : p.lsn;
}

export const describeOrigin = (o: WalOrigin): string =>
  `system ${o.system}, timeline ${o.timeline}, database ${o.database}, slot ${o.slot}`;
