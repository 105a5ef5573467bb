// The placement check: every record the ledger reads must sit on the partition its key belongs on
// under the ledger's partition count today.
import { LedgerError } from '../errors.ts';
import { ledgerPartitionOf } from './topic.ts';

export interface PlacementCheck {
  /** Notes the partition a record read sits on. */
  saw(key: string, partition: number): void;
  /**
   * Throws a LedgerError when a record read sits off the partition its key belongs on with
   * `partitionCount` partitions, and at every later call, whatever the count.
   */
  verify(partitionCount: number): void;
}

/**
 * A key's partition depends on the partition count, so a ledger whose count changed after records
 * were written could hide a produced run on a partition the check does not wait for. Every record
 * read must sit where its key belongs under today's count; if one does not, every check fails
 * (non-retryably) instead of ever answering "not produced".
 */
export function createPlacementCheck(topic: string): PlacementCheck {
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
