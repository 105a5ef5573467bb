// The outbox's replication slot and publication: created by `outbox init`, checked before every run,
// and confirmed only after a run's Kafka transaction committed. The slot keeps the WAL from its
// restart position on, so every run also moves it (a heartbeat, changes.ts) and its retained WAL
// is exported as a metric; `max_slot_wal_keep_size` bounds it by invalidating the slot instead.
import { createHash } from 'node:crypto';
import { ConfigError, SourcePositionError } from '../../errors.ts';
import type { OutboxConnection } from './connection.ts';
import { lsnValue } from './lsn.ts';
import { describeOrigin, describePosition, type OutboxPosition, type WalOrigin } from './position.ts';
import type { OutboxTable } from './table.ts';

export interface SlotState {
  /** Everything before it was confirmed: the server decodes from here on. */
  confirmed: string;
  /** WAL the slot keeps (bytes from its restart position to the current one). */
  retainedBytes: number;
  /** pg_replication_slots.wal_status: `lost` means invalidated (max_slot_wal_keep_size). */
  walStatus: string;
}

/** The database the connection is on, as a position names it. */
export async function walOrigin(db: Pick<OutboxConnection, 'query'>, slot: string): Promise<WalOrigin> {
  const [row] = await db.query<{ system: string; timeline: number; database: string }>(
    `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system,
            (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, current_database() AS database`,
  );
  return { system: row!.system, timeline: Number(row!.timeline), database: row!.database, slot };
}

/** The slot as the server has it; refused, with the way back, when it is missing, lost or not ours. */
export async function slotState(db: Pick<OutboxConnection, 'query'>, origin: WalOrigin): Promise<SlotState> {
  const [row] = await db.query<{
    confirmed: string | null;
    retained: string | null;
    wal_status: string | null;
    database: string | null;
    plugin: string | null;
  }>(
    `SELECT confirmed_flush_lsn::text AS confirmed, wal_status, database, plugin,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [origin.slot],
  );
  const where = `${describeOrigin(origin)}`;
  if (!row) {
    throw new SourcePositionError(
      `the replication slot ${origin.slot} does not exist (${where}): it was dropped, or this server is a restore or a ` +
        `promoted standby that has no copy of it. Create it with \`npm run outbox -- init\`; a source that published ` +
        `before also needs \`npm run outbox -- adopt-slot\`, which accepts that rows committed before the new slot ` +
        `are not published by this relay (the refusal of the next run names them)`,
    );
  }
  if (row.wal_status === 'lost' || row.confirmed === null) {
    throw new SourcePositionError(
      `the replication slot ${origin.slot} was invalidated (wal_status lost): the server removed WAL it still needed, ` +
        `because the slot kept more than max_slot_wal_keep_size while the relay did not run. Rows committed since ` +
        `its last confirmed position cannot be read from it any more. Drop it (SELECT pg_drop_replication_slot('${origin.slot}')), ` +
        `recreate it with \`npm run outbox -- init\`, and go on with \`npm run outbox -- adopt-slot\``,
    );
  }
  if (row.database !== origin.database || row.plugin !== 'pgoutput') {
    throw new ConfigError(
      `the replication slot ${origin.slot} belongs to database ${row.database ?? '(none)'} with plugin ` +
        `${row.plugin ?? '(none)'}, not to ${origin.database} with pgoutput: choose another name (OUTBOX_SLOT)`,
    );
  }
  return { confirmed: row.confirmed, retainedBytes: Number(row.retained ?? 0), walStatus: row.wal_status ?? 'unknown' };
}

/** A position recorded against another database, or that the slot has already passed, is refused. */
export function checkPosition(p: OutboxPosition, origin: WalOrigin, slot: SlotState, table: string): void {
  const what = (o: WalOrigin) => describeOrigin(o);
  const since = p.committedAt ? ` (rows of ${table} committed after ${p.committedAt})` : '';
  if (p.system !== origin.system || p.timeline !== origin.timeline || p.database !== origin.database) {
    const cause =
      p.system !== origin.system
        ? 'another cluster'
        : p.database !== origin.database
          ? 'another database'
          : 'a new timeline: a restore to a point in time, or a promoted standby';
    throw new SourcePositionError(
      `the run ledger's position for this outbox was recorded on ${what(p)}, but the outbox is now on ${what(origin)} ` +
        `(${cause}). Its WAL positions mean nothing here: publishing from them could skip or repeat rows. If this is ` +
        `the database the outbox lives on now, run \`npm run outbox -- init\` and \`npm run outbox -- adopt-slot\`: ` +
        `the relay goes on from the slot, and rows committed before it${since} are yours to check`,
    );
  }
  if (p.slot !== origin.slot) {
    throw new SourcePositionError(
      `the run ledger's position for this outbox is on slot ${p.slot}, but OUTBOX_SLOT is ${origin.slot}: ` +
        `set OUTBOX_SLOT=${p.slot}, or move to the new slot with \`npm run outbox -- adopt-slot\``,
    );
  }
  if (lsnValue(slot.confirmed) > lsnValue(p.lsn)) {
    throw new SourcePositionError(
      `the replication slot ${p.slot} is confirmed up to ${slot.confirmed}, past the last position this relay ` +
        `published, ${describePosition(p)}: it was advanced or recreated outside the relay, and the transactions ` +
        `committed between the two are no longer in it${since}. Nothing was published. Publish those rows another ` +
        `way if they are missing, then \`npm run outbox -- adopt-slot\` goes on from the slot's position`,
    );
  }
}

/** Who holds the slot now (a stream, or a run's peek), if anyone. */
export interface SlotHolder {
  pid: number;
  application: string;
  /** `walsender`: a replication stream (a following relay); anything else: a query (a run's peek). */
  backendType: string;
  /** When its connection started (ISO 8601). */
  since: string | null;
}

export async function slotHolder(db: Pick<OutboxConnection, 'query'>, slot: string): Promise<SlotHolder | undefined> {
  const [row] = await db.query<{ pid: number; application: string; backend_type: string; since: string | null }>(
    `SELECT s.active_pid AS pid, coalesce(a.application_name, '') AS application,
            coalesce(a.backend_type, 'unknown') AS backend_type, to_json(a.backend_start)#>>'{}' AS since
       FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1 AND s.active`,
    [slot],
  );
  return row
    ? { pid: row.pid, application: row.application, backendType: row.backend_type, since: row.since }
    : undefined;
}

/** The application name a follower's stream carries: its workflow's, so its next attempt knows its own. */
export const followerApplication = (workflowId: string): string =>
  `order-events-follow:${createHash('sha256').update(workflowId).digest('hex').slice(0, 16)}`;

/** Confirms everything up to `lsn` to the slot; a slot already past it is left alone (never moved back). */
export async function confirmSlot(db: Pick<OutboxConnection, 'query'>, slot: string, lsn: string): Promise<void> {
  await db.query(
    `SELECT pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_replication_slots
      WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_lsn`,
    [slot, lsn],
  );
}

/** `wal_level=logical`, or an error that says how to set it, managed services included. */
export async function checkWalLevel(db: Pick<OutboxConnection, 'query'>): Promise<void> {
  const [row] = await db.query<{ wal_level: string }>('SHOW wal_level');
  if (row?.wal_level === 'logical') return;
  throw new ConfigError(
    `the outbox's PostgreSQL has wal_level=${row?.wal_level}; the relay reads the outbox through logical decoding, ` +
      `which needs wal_level=logical and a server restart. Self-managed: ALTER SYSTEM SET wal_level = logical, then ` +
      `restart. Amazon RDS / Aurora: rds.logical_replication=1 in the parameter group. Cloud SQL: the flag ` +
      `cloudsql.logical_decoding=on. Azure Flexible Server: the server parameter wal_level=logical`,
  );
}

/** The publication and the slot (`outbox init`), idempotent; which of them this call created. */
export async function createSlot(
  db: Pick<OutboxConnection, 'query'>,
  t: OutboxTable,
  slot: string,
): Promise<{ publication: boolean; slot: boolean }> {
  await checkWalLevel(db);
  const [pub] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_publication WHERE pubname = $1`, [
    t.publicationName,
  ]);
  const newPublication = pub?.n === '0';
  // The publication comes first: a slot decodes a publication's changes only from its own creation on.
  if (newPublication)
    await db.query(`CREATE PUBLICATION ${t.publication} FOR TABLE ${t.table} WITH (publish = 'insert')`);
  const [existing] = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (existing?.n !== '0') return { publication: newPublication, slot: false };
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  return { publication: newPublication, slot: true };
}

/** What the relay's role needs, for `init`'s message and its errors. */
export const GRANTS =
  'the REPLICATION attribute (ALTER ROLE <role> REPLICATION; RDS: GRANT rds_replication), ownership of the ' +
  'outbox table (for its publication), SELECT and INSERT on it, and INSERT, UPDATE, SELECT, DELETE on its relay table';
