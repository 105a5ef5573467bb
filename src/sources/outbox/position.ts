// The outbox relay's position: the (txid, id) of the last row a committed run published, written
// as "<txid>:<id>". Rows are published in (txid, id) order and only below the snapshot horizon
// (pg_snapshot_xmin: every transaction with a smaller id has ended), so no row can ever appear at
// or before a recorded position: a late-committing transaction's rows carry its own txid, which is
// at or above the horizon of every run that could not see them.
import { LedgerError } from '../../errors.ts';

export interface OutboxPosition {
  /** The writing transaction's id (xid8, as decimal text). */
  txid: string;
  /** The row's id (bigint, as decimal text). */
  id: string;
}

/** Before the first row. */
export const START: OutboxPosition = { txid: '0', id: '0' };

export function formatPosition(p: OutboxPosition): string {
  return `${p.txid}:${p.id}`;
}

export function parsePosition(text: string | undefined): OutboxPosition | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,20}):(\d{1,19})$/.exec(text);
  if (!m) throw new LedgerError(`the run ledger's outbox position ${JSON.stringify(text)} is not "<txid>:<id>"`);
  return { txid: m[1]!, id: m[2]! };
}
