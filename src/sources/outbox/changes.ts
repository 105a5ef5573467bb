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
import type { OutboxConnection } from './connection.ts';
import { HEARTBEAT_PREFIX, TxnDecoder } from './decode.ts';
import { formatPosition, type OutboxPosition } from './position.ts';
import type { OutboxTable } from './table.ts';

export { HEARTBEAT_PREFIX } from './decode.ts';

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

/** The pgoutput options of every peek: protocol 1 (whole transactions only) and our heartbeats. */
const PEEK = `SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3,
  'proto_version', '1', 'publication_names', $4, 'messages', 'true')`;

/** Writes a heartbeat; the WAL flushed after it and the oldest transaction still running before it. */
export async function heartbeat(db: Pick<OutboxConnection, 'query'>, token: string) {
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
  const decoder = new TxnDecoder({
    from,
    recorded: req.recorded,
    maxEventBytes: req.limits.maxEventBytes,
    beatXmin: (t) => (t === token ? beat.xmin : undefined),
  });
  const lookup =
    <T>(map: WeakMap<object, T>) =>
    (event: unknown) =>
      typeof event === 'object' && event !== null ? map.get(event) : undefined;
  return {
    events: events(req, decoder, beat.upTo),
    position: (): SourcePosition | undefined => (decoder.moved ? formatPosition(decoder.position) : undefined),
    idOf: lookup(decoder.ids),
    problemOf: lookup(decoder.problems),
  };
}

async function* events(req: ChangesRequest, decoder: TxnDecoder, upTo: string): AsyncGenerator<unknown> {
  const { from, limits } = req;
  // Each message is one row of the peek: Begin, Relation, Insert per row, Commit; a transaction's
  // inserts and both ends, about three per one-row transaction. The peek never stops inside one.
  const nchanges = 3 * limits.maxEvents + (from.inside?.rows ?? 0) + 16;
  const parser = new PgoutputParser();
  const params = [from.slot, upTo, nchanges, req.table.publicationName];
  let published = 0;
  for await (const page of req.db.pages<{ data: Buffer }>(PEEK, params, req.pageRows)) {
    for (const row of page) {
      const m: Pgoutput.Message = parser.parse(row.data);
      if (decoder.isRow(m) && published === limits.maxEvents) return;
      const event = decoder.apply(m);
      if (event === undefined) continue;
      published++;
      yield event;
    }
  }
}
