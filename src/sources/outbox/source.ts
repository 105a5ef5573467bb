// The PostgreSQL outbox as a CursorSource. Each run reads the rows after the position the last
// committed run recorded, in (txid, id) order and only below the snapshot horizon taken when the
// run starts reading: pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction still running.
// Every row below it is final (its transaction committed or rolled back), and a row written by any
// transaction still open has a txid at or above it, so it sorts after every row published now: a
// transaction that commits late is published by a later run, never skipped (position.ts).
//
// No row can stop the relay: a row the topic cannot take (too large, a time the broker refuses or
// that is not a time, a field the schema refuses) goes to the dead-letter topic with its id, and a
// page is bounded by bytes as well as rows, so wide rows cannot exhaust the worker's heap.
import type { CursorRead, CursorSource, ReadLimits, SourceLag, SourcePosition } from '../contract.ts';
import { DeadLetterReason, type DeadLetterFailure } from '../../dlq/envelope.ts';
import type { Logger } from '../../logger.ts';
import type { OutboxConnection } from './connection.ts';
import { START, formatPosition, parsePosition, type OutboxPosition } from './position.ts';
import { checkRelayTable, guardFirstRun, recordPublished, recordedPosition } from './relay.ts';
import type { OutboxTable } from './table.ts';

export interface OutboxSourceDeps {
  connection: OutboxConnection;
  table: OutboxTable;
  /** The source's name: its position chain in the ledger and its fencing identity. */
  name: string;
  /** The events topic this deployment publishes to (the relay table keys its rows by topic and source). */
  topic: string;
  /** Rows fetched per query (OUTBOX_PAGE_ROWS). */
  pageRows: number;
  /** The most row bytes one query fetches (OUTBOX_PAGE_BYTES); a page always holds at least one row. */
  pageBytes: number;
  logger: Logger;
}

interface OutboxRow extends Record<string, unknown> {
  row_id: string;
  row_txid: string;
  order_id: string | null;
  customer_id: string | null;
  order_status: string | null;
  order_total: number | null;
  /** Epoch milliseconds, or PostgreSQL's text for a time that is not one ('infinity'). */
  created_at: string | null;
  /** The row's text bytes (customer_id and order_status), when they were too many to fetch whole. */
  cut_bytes: string | null;
  /** Rows the query found before its byte bound cut the page. */
  page_rows: string;
}

/** How much of a too-large row's text is fetched, for its dead letter. */
const CUT_TO_CHARS = 1024;

export function createOutboxSource(deps: OutboxSourceDeps): CursorSource {
  const { connection: db, table: t } = deps;
  const me = { topic: deps.topic, source: deps.name };
  let relayChecked = false;
  const checkRelay = async () => {
    if (relayChecked) return;
    await checkRelayTable(db, t);
    relayChecked = true;
  };
  return {
    kind: 'cursor',
    name: deps.name,
    async read(from, limits) {
      await checkRelay();
      const [snapshot] = await db.query<{ horizon: string }>(
        'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon',
      );
      return readBelow(deps, parsePosition(from) ?? START, snapshot!.horizon, limits);
    },

    async lag(position) {
      const p = parsePosition(position) ?? (await recordedPosition(db, t, me).catch(() => undefined)) ?? START;
      return lagAfter(deps, p);
    },

    async checkFirstRun() {
      await checkRelay();
      await guardFirstRun(db, t, me);
    },

    async committed(position) {
      const p = parsePosition(position);
      if (!p) return;
      try {
        await recordPublished(db, t, me, p);
      } catch (err) {
        deps.logger.warn('outbox relay position not recorded in PostgreSQL (the ledger has it)', {
          source: deps.name,
          error: (err as Error).message,
        });
      }
    },

    close: () => db.close(),
  };
}

/** The age of the oldest row after `p`, and the transaction holding rows back when one is open. */
async function lagAfter(deps: OutboxSourceDeps, p: OutboxPosition): Promise<SourceLag> {
  const { connection: db, table: t } = deps;
  const [row] = await db.query<{ lag: number | null }>(
    `SELECT extract(epoch FROM clock_timestamp() - min(inserted_at))::float8 AS lag
       FROM ${t.table} WHERE (txid, id) > ($1::xid8, $2::bigint)`,
    [p.txid, p.id],
  );
  const seconds = Math.max(0, row?.lag ?? 0);
  // The oldest transaction still running is the snapshot horizon: rows at or after it wait for it.
  const [oldest] = await db.query<{ pid: number; age: number; state: string | null; app: string | null }>(
    `SELECT pid, extract(epoch FROM clock_timestamp() - xact_start)::float8 AS age, state,
            application_name AS app
       FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
      ORDER BY age(backend_xid) DESC LIMIT 1`,
  );
  if (seconds === 0 || !oldest) return { seconds };
  const heldBy =
    `transaction of pid ${oldest.pid} open for ${oldest.age.toFixed(0)} s (${oldest.state ?? 'unknown state'}` +
    `${oldest.app ? `, application ${oldest.app}` : ''}): rows written after it started wait until it ends`;
  return { seconds, heldBy };
}

/**
 * The rows after `from` and below `horizon`, at most `limits.maxEvents`, fetched a page at a time as
 * they are consumed; the next page is asked for as soon as a page arrives that may not be the last,
 * so the database's round trip overlaps the encoding of the page before.
 */
function readBelow(deps: OutboxSourceDeps, from: OutboxPosition, horizon: string, limits: ReadLimits): CursorRead {
  const ids = new WeakMap<object, string>();
  const problems = new WeakMap<object, DeadLetterFailure>();
  let last: OutboxPosition = from;
  const page = (after: OutboxPosition, rows: number) => fetchPage(deps, after, horizon, rows, limits.maxEventBytes);
  async function* events() {
    let asked = Math.min(deps.pageRows, limits.maxEvents);
    let next: Promise<OutboxRow[]> | undefined = page(from, asked);
    let fetched = 0;
    while (next) {
      const rows = await next;
      fetched += rows.length;
      next = undefined;
      const end = rows.at(-1);
      const more = end && (rows.length === asked || rows.length < Number(end.page_rows));
      if (more && fetched < limits.maxEvents) {
        asked = Math.min(deps.pageRows, limits.maxEvents - fetched);
        next = page({ txid: end.row_txid, id: end.row_id }, asked);
        next.catch(() => undefined); // surfaced when awaited
      }
      for (const row of rows) {
        const event = eventOf(row);
        ids.set(event, row.row_id);
        const problem = problemOf(row, limits.maxEventBytes);
        if (problem) problems.set(event, problem);
        last = { txid: row.row_txid, id: row.row_id };
        yield event;
      }
    }
  }
  const lookup =
    <T>(map: WeakMap<object, T>) =>
    (event: unknown) =>
      typeof event === 'object' && event !== null ? map.get(event) : undefined;
  return {
    events: events(),
    position: (): SourcePosition | undefined => (last === from && from === START ? undefined : formatPosition(last)),
    idOf: lookup(ids),
    problemOf: lookup(problems),
  };
}

/**
 * One page: at most `rows` rows, and rows until their text passes `deps.pageBytes` (at least one).
 * A row whose text passes `maxEventBytes` is fetched cut (its size kept), and a time that is not a
 * time comes back as PostgreSQL writes it, so that neither fails the query or the run.
 */
function fetchPage(
  deps: OutboxSourceDeps,
  after: OutboxPosition,
  horizon: string,
  rows: number,
  maxEventBytes: number,
): Promise<OutboxRow[]> {
  const { connection: db, table: t } = deps;
  // Output names differ from the columns: ORDER BY would otherwise sort the text aliases.
  return db.query<OutboxRow>(
    `SELECT row_id, row_txid, order_id, customer_id, order_status, order_total, created_at, cut_bytes, page_rows
       FROM (
         SELECT o.txid AS o_txid, o.id AS o_id, id::text AS row_id, txid::text AS row_txid, order_id::text,
                CASE WHEN w.bytes > $5 THEN left(customer_id, ${CUT_TO_CHARS}) ELSE customer_id END AS customer_id,
                CASE WHEN w.bytes > $5 THEN left(order_status, ${CUT_TO_CHARS}) ELSE order_status END AS order_status,
                order_total,
                CASE WHEN NOT isfinite(created_at) THEN created_at::text
                     ELSE floor(extract(epoch FROM created_at) * 1000)::bigint::text END AS created_at,
                CASE WHEN w.bytes > $5 THEN w.bytes::text END AS cut_bytes,
                sum(least(w.bytes, $5)) OVER (ORDER BY txid, id ROWS UNBOUNDED PRECEDING) - least(w.bytes, $5) AS before,
                count(*) OVER () AS page_rows
           FROM (SELECT * FROM ${t.table}
                  WHERE (txid, id) > ($1::xid8, $2::bigint) AND txid < $3::xid8
                  ORDER BY txid, id LIMIT $4) o,
                LATERAL (SELECT coalesce(octet_length(o.customer_id), 0) + coalesce(octet_length(o.order_status), 0)
                                + 64 AS bytes) w
       ) page
      WHERE before < $6
      ORDER BY o_txid, o_id`,
    [after.txid, after.id, horizon, rows, maxEventBytes, deps.pageBytes],
  );
}

/** A row as an OrderEvent; a NULL or out-of-range column is left for validation to name. */
function eventOf(row: OutboxRow): Record<string, unknown> {
  const t = row.created_at;
  return {
    order_id: row.order_id === null ? null : BigInt(row.order_id),
    customer_id: row.customer_id,
    order_status: row.order_status,
    order_total: row.order_total,
    created_at: t === null ? null : /^-?\d+$/.test(t) ? Number(t) : t,
  };
}

/** What the row's fetch already tells: too large to send, or a created_at that is not a time. */
function problemOf(row: OutboxRow, maxEventBytes: number): DeadLetterFailure | undefined {
  if (row.cut_bytes !== null) {
    return {
      reason: DeadLetterReason.tooLarge,
      message:
        `the row's text is ${row.cut_bytes} bytes; the topic takes records of at most ${maxEventBytes} ` +
        `(max.message.bytes): customer_id and order_status are cut to their first ${CUT_TO_CHARS} characters here`,
    };
  }
  const t = row.created_at;
  if (t !== null && !/^-?\d+$/.test(t)) {
    return {
      reason: DeadLetterReason.invalid,
      message: `created_at: ${JSON.stringify(t)} is not a time a record can carry (timestamp-millis)`,
      fieldPaths: ['created_at'],
    };
  }
  return undefined;
}
