// The PostgreSQL outbox as a CursorSource, read in commit order through logical decoding: a
// replication slot with the built-in pgoutput plugin and a publication on the outbox table. Each
// run reads the transactions committed after the position the last committed run recorded in the
// ledger, and the slot is confirmed to that position only after the run's Kafka transaction
// committed (`committed`): a run that fails moves nothing, and the next reads the same changes again.
//
// Before reading, the position is checked against the database (the same cluster, timeline,
// database and slot) and against the slot (never past it), so no position is ever read as "nothing
// new" in a history it does not belong to. No row can stop the relay: a row the topic cannot take
// goes to the dead-letter topic with its id (changes.ts).
import type { CursorRead, CursorSource, ReadLimits, SourceLag } from '../contract.ts';
import { SourceBusyError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ProducerMetrics } from '../../telemetry/metrics.ts';
import { readChanges } from './changes.ts';
import type { OutboxConnection } from './connection.ts';
import { lsnValue } from './lsn.ts';
import { parsePosition, type OutboxPosition } from './position.ts';
import { checkRelayTable, guardFirstRun, recordPublished } from './relay.ts';
import { checkPosition, checkWalLevel, confirmSlot, slotHolder, slotState, walOrigin } from './slot.ts';
import type { OutboxTable } from './table.ts';

export interface OutboxSourceDeps {
  connection: OutboxConnection;
  table: OutboxTable;
  /** The source's name: its position chain in the ledger and its fencing identity. */
  name: string;
  /** The events topic this deployment publishes to (the relay table keys its rows by topic and source). */
  topic: string;
  /** The replication slot the source reads (OUTBOX_SLOT). */
  slot: string;
  /** Changes fetched per round trip (OUTBOX_PAGE_ROWS). */
  pageRows: number;
  logger: Logger;
  metrics?: Pick<ProducerMetrics, 'sourceRetainedWal'>;
  /**
   * `outbox adopt-slot`: start from the slot's confirmed position whatever the ledger holds (a
   * position of another database, or one the slot has passed): the gap is accepted by the operator.
   */
  adoptSlot?: boolean;
}

export function createOutboxSource(deps: OutboxSourceDeps): CursorSource {
  const { connection: db, table: t } = deps;
  const me = { topic: deps.topic, source: deps.name };
  let checked = false;
  const checkOnce = async () => {
    if (checked) return;
    await checkWalLevel(db);
    await checkRelayTable(db, t);
    checked = true;
  };
  return {
    kind: 'cursor',
    name: deps.name,
    prepare: () => refuseWhileFollowed(deps),
    async read(from, limits) {
      await checkOnce();
      return readFrom(deps, from, limits);
    },

    lag: (position) => lagAfter(deps, parsePosition(position)),

    async checkFirstRun() {
      await checkOnce();
      if (!deps.adoptSlot) await guardFirstRun(db, t, me);
    },

    async committed(position) {
      const p = parsePosition(position);
      if (!p) return;
      try {
        await confirmSlot(db, p.slot, p.lsn);
        await recordPublished(db, t, me, p);
      } catch (err) {
        deps.logger.warn('outbox position not confirmed to the slot (the ledger has it; the next run does it)', {
          source: deps.name,
          error: (err as Error).message,
        });
      }
    },

    close: () => db.close(),
  };
}

/** Refuses a scheduled run while a following relay streams the slot (the two would interleave). */
async function refuseWhileFollowed(deps: OutboxSourceDeps): Promise<void> {
  const holder = await slotHolder(deps.connection, deps.slot);
  if (holder?.backendType !== 'walsender') return;
  throw new SourceBusyError(
    `source ${deps.name} is followed: a following relay streams its slot ${deps.slot} (PostgreSQL pid ` +
      `${holder.pid}, ${holder.application}, since ${holder.since ?? 'unknown'}). Scheduled runs of it are refused ` +
      `while it runs, and nothing was sent: pause this schedule (\`npm run schedule -- pause\`), or stop the ` +
      `follower (\`npm run outbox -- follow --stop\`) to go back to scheduled runs`,
  );
}

/** Checks the position against the database and the slot, then reads the changes after it. */
async function readFrom(deps: OutboxSourceDeps, from: string | undefined, limits: ReadLimits): Promise<CursorRead> {
  const start = await startingPoint(deps, from);
  return readChanges({ db: deps.connection, table: deps.table, ...start, limits, pageRows: deps.pageRows });
}

/**
 * Where a read starts: the ledger's position, checked against the database and the slot (the slot
 * confirmed forward when it is behind); or, at the source's start, the slot's confirmed position.
 */
export async function startingPoint(
  deps: Pick<OutboxSourceDeps, 'connection' | 'table' | 'name' | 'slot' | 'logger' | 'metrics' | 'adoptSlot'>,
  from: string | undefined,
): Promise<{ from: OutboxPosition; recorded: boolean }> {
  const { connection: db, table: t } = deps;
  const origin = await walOrigin(db, deps.slot);
  const slot = await slotState(db, origin);
  deps.metrics?.sourceRetainedWal(deps.name, slot.retainedBytes);
  const recorded = deps.adoptSlot ? undefined : parsePosition(from);
  if (recorded) checkPosition(recorded, origin, slot, t.name);
  if (deps.adoptSlot && from !== undefined) {
    deps.logger.warn('outbox position adopted from the slot', { source: deps.name, was: from, slot: slot.confirmed });
  }
  // The ledger is the truth: a slot behind it (a confirmation lost after a commit) skips what it holds.
  if (recorded && lsnValue(slot.confirmed) < lsnValue(recorded.lsn)) await confirmSlot(db, deps.slot, recorded.lsn);
  return {
    from: recorded ?? { ...origin, lsn: slot.confirmed, prunable: '0' },
    recorded: recorded !== undefined || deps.adoptSlot === true,
  };
}

/**
 * The commit time of the first transaction not yet published, peeked from the slot: its age is the
 * lag. Only Begin messages come back (a Begin carries its commit's LSN and time); without the
 * `messages` option, heartbeats are empty transactions, which pgoutput does not send.
 */
async function lagAfter(deps: OutboxSourceDeps, p: OutboxPosition | undefined): Promise<SourceLag> {
  const { connection: db, table: t } = deps;
  const [state] = await db.query<{ retained: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [deps.slot],
  );
  if (state?.retained) deps.metrics?.sourceRetainedWal(deps.name, Number(state.retained));
  const begins = await db.query<{ data: Buffer }>(
    `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, 64, 'proto_version', '1', 'publication_names', $2)
      WHERE get_byte(data, 0) = 66`,
    [deps.slot, t.publicationName],
  );
  const after = p ? lsnValue(p.lsn) : 0n;
  // Begin: 'B', the commit's LSN (8 bytes), its time in µs since 2000-01-01 (8), the xid (4).
  const first = begins.find((b) => b.data.readBigUInt64BE(1) >= after);
  if (!first) return { seconds: 0 };
  const committedMs = Number(first.data.readBigInt64BE(9) / 1000n) + POSTGRES_EPOCH_MS;
  return { seconds: Math.max(0, (Date.now() - committedMs) / 1000) };
}

/** 2000-01-01T00:00:00Z, PostgreSQL's epoch. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
