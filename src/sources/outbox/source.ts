// The PostgreSQL outbox as a CursorSource. Each run reads the rows after the position the last
// committed run recorded, in (txid, id) order and only below the snapshot horizon taken when the
// run starts reading: pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction still running.
// Every row below it is final (its transaction committed or rolled back), and a row written by any
// transaction still open has a txid at or above it, so it sorts after every row published now: a
// transaction that commits late is published by a later run, never skipped (position.ts).
import type { CursorRead, CursorSource, SourcePosition } from '../contract.ts';
import { LedgerError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { OutboxConnection } from './connection.ts';
import { START, formatPosition, parsePosition, type OutboxPosition } from './position.ts';
import type { OutboxTable } from './table.ts';

export interface OutboxSourceDeps {
  connection: OutboxConnection;
  table: OutboxTable;
  /** The source's name: its position chain in the ledger and its fencing identity. */
  name: string;
  /** Rows fetched per query (OUTBOX_PAGE_ROWS). */
  pageRows: number;
  logger: Logger;
}

interface OutboxRow extends Record<string, unknown> {
  row_id: string;
  row_txid: string;
  order_id: string | null;
  customer_id: string | null;
  order_status: string | null;
  order_total: number | null;
  created_at: string | null;
}

export function createOutboxSource(deps: OutboxSourceDeps): CursorSource {
  const { connection: db, table: t } = deps;
  return {
    kind: 'cursor',
    name: deps.name,
    async read(from, max) {
      const [snapshot] = await db.query<{ horizon: string }>(
        'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon',
      );
      return readBelow(deps, parsePosition(from) ?? START, snapshot!.horizon, max);
    },

    async lagSeconds(position) {
      const p = parsePosition(position) ?? START;
      const [row] = await db.query<{ lag: number | null }>(
        `SELECT extract(epoch FROM clock_timestamp() - min(inserted_at))::float8 AS lag
           FROM ${t.table} WHERE (txid, id) > ($1::xid8, $2::bigint)`,
        [p.txid, p.id],
      );
      return Math.max(0, row?.lag ?? 0);
    },

    async checkFirstRun() {
      const rows = await db.query<{ position: string; published_at: Date }>(
        `SELECT txid::text || ':' || last_id::text AS position, published_at FROM ${t.relay} WHERE source = $1`,
        [deps.name],
      );
      const seen = rows[0];
      if (!seen) return;
      throw new LedgerError(
        `the run ledger holds no position for source ${deps.name}, but ${t.name}_relay says rows up to ${seen.position} ` +
          `were published (${seen.published_at.toISOString()}): the ledger's record is gone (deleted by retention, ` +
          `KAFKA_RUNS_RETENTION_MS, or another ledger topic). Refusing to publish the outbox again from its first row; ` +
          `to start over on purpose, delete that source's row from ${t.name}_relay`,
      );
    },

    async committed(position) {
      const p = parsePosition(position);
      if (!p) return;
      try {
        await db.query(
          `INSERT INTO ${t.relay} AS r (source, txid, last_id) VALUES ($1, $2::xid8, $3::bigint)
           ON CONFLICT (source) DO UPDATE SET txid = EXCLUDED.txid, last_id = EXCLUDED.last_id, published_at = now()
           WHERE (r.txid, r.last_id) < (EXCLUDED.txid, EXCLUDED.last_id)`,
          [deps.name, p.txid, p.id],
        );
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

/**
 * The rows after `from` and below `horizon`, at most `max`, fetched a page at a time as they are
 * consumed; the next page is asked for as soon as a full page arrives, so the database's round trip
 * overlaps the encoding of the page before.
 */
function readBelow(deps: OutboxSourceDeps, from: OutboxPosition, horizon: string, max: number): CursorRead {
  const { connection: db, table: t } = deps;
  const ids = new WeakMap<object, string>();
  let last: OutboxPosition = from;
  const page = (after: OutboxPosition, limit: number) =>
    db.query<OutboxRow>(
      // Output names differ from the columns: ORDER BY would otherwise sort the text aliases.
      `SELECT id::text AS row_id, txid::text AS row_txid, order_id::text, customer_id, order_status, order_total,
              floor(extract(epoch FROM created_at) * 1000)::bigint::text AS created_at
         FROM ${t.table}
        WHERE (txid, id) > ($1::xid8, $2::bigint) AND txid < $3::xid8
        ORDER BY txid, id LIMIT $4`,
      [after.txid, after.id, horizon, limit],
    );
  async function* events() {
    let asked = Math.min(deps.pageRows, max);
    let next: Promise<OutboxRow[]> | undefined = page(from, asked);
    let fetched = 0;
    while (next) {
      const rows = await next;
      fetched += rows.length;
      next = undefined;
      const end = rows.at(-1);
      if (end && rows.length === asked && fetched < max) {
        asked = Math.min(deps.pageRows, max - fetched);
        next = page({ txid: end.row_txid, id: end.row_id }, asked);
        next.catch(() => undefined); // surfaced when awaited
      }
      for (const row of rows) {
        const event = eventOf(row);
        ids.set(event, row.row_id);
        last = { txid: row.row_txid, id: row.row_id };
        yield event;
      }
    }
  }
  return {
    events: events(),
    position: (): SourcePosition | undefined => (last === from && from === START ? undefined : formatPosition(last)),
    idOf: (event) => (typeof event === 'object' && event !== null ? ids.get(event) : undefined),
  };
}

/** A row as an OrderEvent; a NULL or out-of-range column is left for validation to name. */
function eventOf(row: OutboxRow): Record<string, unknown> {
  return {
    order_id: row.order_id === null ? null : BigInt(row.order_id),
    customer_id: row.customer_id,
    order_status: row.order_status,
    order_total: row.order_total,
    created_at: row.created_at === null ? null : Number(row.created_at),
  };
}
