// One run's read of the outbox's replication slot: every committed transaction after the position,
// whole and in commit order, rows in insert order within each. The changes are peeked (never
// confirmed here: slot.ts confirms after the Kafka commit) through pgoutput, a page at a time.
//
// A run first writes a heartbeat (a transactional logical message) and reads up to the WAL flushed
// after it. Reaching the heartbeat's commit proves every transaction that committed before the run
// was read, so the position moves past the heartbeat even when the outbox was idle: the slot is
// confirmed there and keeps no WAL for nothing (the disk of a quiet outbox does not fill).
import { PgoutputParser } from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput-parser.js';
import type { Pgoutput } from 'pg-logical-replication';
import type { CursorRead, ReadLimits, SourcePosition } from '../contract.ts';
import { DeadLetterReason, type DeadLetterFailure } from '../../dlq/envelope.ts';
import type { OutboxConnection } from './connection.ts';
import { lsnValue, normalLsn } from './lsn.ts';
import { formatPosition, type OutboxPosition } from './position.ts';
import type { OutboxTable } from './table.ts';

/** The heartbeat's logical-message prefix (other runs' heartbeats are read past like empty transactions). */
export const HEARTBEAT_PREFIX = 'order_events.heartbeat';

export interface ChangesRequest {
  db: OutboxConnection;
  table: OutboxTable;
  /** Where the run starts: the ledger's position, or the slot's start (a first run). */
  from: OutboxPosition;
  /** Whether `from` came from the ledger (else the read's position stays undefined until a row moves it). */
  recorded: boolean;
  limits: ReadLimits;
  /** Rows fetched per round trip (OUTBOX_PAGE_ROWS). */
  pageRows: number;
}

/** How much of a too-large row's text goes into its dead letter. */
const CUT_TO_CHARS = 1024;

/** The pgoutput options of every peek: protocol 1 (whole transactions only) and our heartbeats. */
const PEEK = `SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3,
  'proto_version', '1', 'publication_names', $4, 'messages', 'true')`;

/** Writes this run's heartbeat; the WAL flushed after it and the oldest transaction still running before it. */
async function heartbeat(db: OutboxConnection, token: string) {
  const [before] = await db.query<{ xmin: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`);
  // Its commit is flushed whatever the server's synchronous_commit (set for this statement's own
  // transaction only): the run reads up to the flushed WAL, and must find its heartbeat there.
  await db.query(`SELECT set_config('synchronous_commit', 'on', true), pg_logical_emit_message(true, $1, $2)`, [
    HEARTBEAT_PREFIX,
    token,
  ]);
  const [after] = await db.query<{ flushed: string }>(`SELECT pg_current_wal_flush_lsn()::text AS flushed`);
  return { xmin: before!.xmin, upTo: after!.flushed };
}

export async function readChanges(req: ChangesRequest): Promise<CursorRead> {
  const { from } = req;
  const token = `${from.slot}:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  const beat = await heartbeat(req.db, token);
  const read: Read = {
    req,
    beat: { ...beat, token },
    ids: new WeakMap(),
    problems: new WeakMap(),
    position: from,
    moved: req.recorded,
  };
  const lookup =
    <T>(map: WeakMap<object, T>) =>
    (event: unknown) =>
      typeof event === 'object' && event !== null ? map.get(event) : undefined;
  return {
    events: events(read),
    position: (): SourcePosition | undefined => (read.moved ? formatPosition(read.position) : undefined),
    idOf: lookup(read.ids),
    problemOf: lookup(read.problems),
  };
}

/** One read's state while its events are consumed. */
interface Read {
  req: ChangesRequest;
  beat: { xmin: string; upTo: string; token: string };
  ids: WeakMap<object, string>;
  problems: WeakMap<object, DeadLetterFailure>;
  /** Where the read stands: moved at each commit read whole and each row published. */
  position: OutboxPosition;
  moved: boolean;
}

/** The transaction being read. */
interface Txn {
  commit: string;
  /** Rows of it already published (all of them: Infinity). */
  skip: number;
  index: number;
  time: string;
  beat: boolean;
}

async function* events(read: Read): AsyncGenerator<unknown> {
  const { req } = read;
  const { from, limits } = req;
  // Each message is one row of the peek: Begin, Relation, Insert per row, Commit; a transaction's
  // inserts and both ends, about three per one-row transaction. The peek never stops inside one.
  const nchanges = 3 * limits.maxEvents + (from.inside?.rows ?? 0) + 16;
  const parser = new PgoutputParser();
  const start = lsnValue(from.lsn);
  const params = [from.slot, read.beat.upTo, nchanges, req.table.publicationName];
  let returned = 0;
  let published = 0;
  let txn: Txn | undefined;
  let reachedBeat = false;
  for await (const page of req.db.pages<{ data: Buffer }>(PEEK, params, req.pageRows)) {
    for (const row of page) {
      returned++;
      const m: Pgoutput.Message = parser.parse(row.data);
      if (m.tag === 'begin') {
        const commit = normalLsn(m.commitLsn!);
        // A transaction is published when its commit ends at or before `from`: its commit record starts before it.
        const skip = lsnValue(commit) < start ? Infinity : from.inside?.commit === commit ? from.inside.rows : 0;
        const time = new Date(Number((m.commitTime as unknown as bigint) / 1000n)).toISOString();
        txn = { commit, skip, index: 0, time, beat: false };
      } else if (m.tag === 'insert' && txn) {
        if (txn.index++ < txn.skip) continue;
        if (published === limits.maxEvents) return;
        published++;
        read.position = { ...read.position, inside: { commit: txn.commit, rows: txn.index } };
        read.moved = true;
        yield eventOf(m.new, limits.maxEventBytes, read);
      } else if (m.tag === 'message' && txn && m.prefix === HEARTBEAT_PREFIX) {
        txn.beat ||= Buffer.from(m.content).toString() === read.beat.token;
      } else if (m.tag === 'commit' && txn) {
        if (txn.skip !== Infinity) committed(read, normalLsn(m.commitEndLsn!), txn.time);
        reachedBeat ||= txn.beat;
        txn = undefined;
      }
    }
  }
  // Every transaction that ended before the heartbeat was read: their rows may be pruned.
  if (reachedBeat && returned < nchanges) read.position = { ...read.position, prunable: read.beat.xmin };
}

/** A transaction read whole: the position moves to its end. */
function committed(read: Read, end: string, time: string): void {
  const next: OutboxPosition = { ...read.position, lsn: end, committedAt: time };
  delete next.inside;
  read.position = next;
  read.moved = true;
}

/** PostgreSQL's words for the times that are not one (pg parses them to ±Infinity). */
const timeText = (t: unknown) => (t === Infinity ? 'infinity' : t === -Infinity ? '-infinity' : String(t));

/** A row as an OrderEvent; a NULL or out-of-range column is left for validation to name. */
function eventOf(
  row: Record<string, unknown>,
  maxEventBytes: number,
  { ids, problems }: Pick<Read, 'ids' | 'problems'>,
): Record<string, unknown> {
  const time = row['created_at'];
  const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v));
  let customer = text(row['customer_id']);
  let status = text(row['order_status']);
  const bytes = Buffer.byteLength(customer ?? '') + Buffer.byteLength(status ?? '') + 64;
  const event: Record<string, unknown> = {
    order_id: row['order_id'] === null || row['order_id'] === undefined ? null : BigInt(row['order_id'] as string),
    customer_id: customer,
    order_status: status,
    order_total: row['order_total'] ?? null,
    created_at: time instanceof Date ? time.getTime() : time === null || time === undefined ? null : timeText(time),
  };
  ids.set(event, String(row['id']));
  if (bytes > maxEventBytes) {
    customer = customer?.slice(0, CUT_TO_CHARS) ?? null;
    status = status?.slice(0, CUT_TO_CHARS) ?? null;
    Object.assign(event, { customer_id: customer, order_status: status });
    problems.set(event, {
      reason: DeadLetterReason.tooLarge,
      message:
        `the row's text is ${bytes} bytes; the topic takes records of at most ${maxEventBytes} ` +
        `(max.message.bytes): customer_id and order_status are cut to their first ${CUT_TO_CHARS} characters here`,
    });
  } else if (typeof event['created_at'] === 'string') {
    problems.set(event, {
      reason: DeadLetterReason.invalid,
      message: `created_at: ${JSON.stringify(event['created_at'])} is not a time a record can carry (timestamp-millis)`,
      fieldPaths: ['created_at'],
    });
  }
  return event;
}
