// The relay table, `<table>_relay`: one row per (topic, source) that publishes the outbox, with
// the last position a committed run recorded and the transaction id below which every row is
// published. It is housekeeping and a guard, never the truth (the ledger is): `prune` deletes only
// rows that every source of the table has published, and a first run (no position in the ledger)
// is refused when the table says it should have had one.
import { ConfigError, LedgerError } from '../../errors.ts';
import type { OutboxConnection } from './connection.ts';
import { describePosition, type OutboxPosition } from './position.ts';
import { LEGACY_TOPIC, type OutboxTable } from './table.ts';

/** One deployment of the outbox: the topic it publishes to and its source name. */
export interface RelaySource {
  topic: string;
  source: string;
}

export interface RelayRow extends RelaySource {
  /** The last position published, as people read it (null: registered, nothing published yet). */
  position: string | null;
  /** Every row of a transaction with a lower id is published. */
  prunableBelow: string;
  publishedAt: Date;
}

const START_TXID = '0';

const describe = (r: RelayRow) =>
  `${r.source} → ${r.topic === LEGACY_TOPIC ? '(topic not recorded: an earlier release)' : r.topic} up to ` +
  `${r.position ?? `transaction ${r.prunableBelow}`}`;

export async function relayRows(db: Pick<OutboxConnection, 'query'>, t: OutboxTable): Promise<RelayRow[]> {
  const rows = await db.query<{
    topic: string;
    source: string;
    txid: string;
    position: string | null;
    published_at: Date;
  }>(`SELECT topic, source, txid::text, position, published_at FROM ${t.relay} ORDER BY topic, source`);
  return rows.map((r) => ({
    topic: r.topic,
    source: r.source,
    position: r.position,
    prunableBelow: r.txid,
    publishedAt: r.published_at,
  }));
}

/** Refuses a relay table that is missing or still keyed by source only (the earlier release), with the remedy. */
export async function checkRelayTable(db: Pick<OutboxConnection, 'query'>, t: OutboxTable): Promise<void> {
  const columns = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
    [t.schema, t.relayName],
  );
  if (columns.length === 0) {
    throw new ConfigError(`the relay table ${t.name}_relay does not exist: run \`npm run outbox -- init\``);
  }
  if (!columns.some((c) => c.column_name === 'topic')) {
    throw new ConfigError(
      `the relay table ${t.name}_relay is an earlier release's (keyed by source only): run \`npm run outbox -- init\` ` +
        `with this deployment's settings to migrate it (its rows are kept)`,
    );
  }
}

/**
 * Called before a source's first run (the ledger holds no position for it): refuses when the relay
 * table says it published before (its ledger record is gone), or when other sources publish the
 * table and this one was never registered, since `prune` may already have deleted rows it never published.
 */
export async function guardFirstRun(
  db: Pick<OutboxConnection, 'query'>,
  t: OutboxTable,
  me: RelaySource,
): Promise<void> {
  const rows = await relayRows(db, t);
  const mine = rows.find((r) => r.topic === me.topic && r.source === me.source);
  if (mine && mine.position === null && mine.prunableBelow === START_TXID) return; // registered by init, nothing published yet
  if (mine) {
    throw new LedgerError(
      `the run ledger holds no position for source ${me.source} on ${me.topic}, but ${t.name}_relay says it published ` +
        `rows up to ${mine.position ?? `transaction ${mine.prunableBelow}`} (${mine.publishedAt.toISOString()}): the ledger's record is gone ` +
        `(deleted by retention, KAFKA_RUNS_RETENTION_MS, or another ledger topic). Refusing to publish the outbox again ` +
        `from the slot's start. To go on from the slot's confirmed position (what the slot has passed is not published ` +
        `again), run \`npm run outbox -- adopt-slot\` with this deployment's settings`,
    );
  }
  const legacy = rows.find((r) => r.topic === LEGACY_TOPIC && r.source === me.source);
  if (legacy) {
    throw new LedgerError(
      `${t.name}_relay holds an earlier release's row for source ${me.source} (${describe(legacy)}) and the ledger ` +
        `holds no position for it on ${me.topic}. Run \`npm run outbox -- init\` with the settings (KAFKA_TOPIC, ` +
        `OUTBOX_SOURCE_NAME) of the deployment that published it, so that row gets its topic; then this first run goes on`,
    );
  }
  if (rows.length === 0) return; // the table's first source
  throw new LedgerError(
    `source ${me.source} has never published ${t.name} to ${me.topic}, and other sources publish it ` +
      `(${rows.map(describe).join('; ')}), so \`outbox prune\` may already have deleted rows this source never ` +
      `published. Register it with \`npm run outbox -- init\` (with this deployment's settings): prune then keeps ` +
      `every row until it is published here too, and this source starts from the first row still in the table`,
  );
}

/** The position a committed run recorded (best effort: the ledger stays the truth); it never moves back. */
export async function recordPublished(
  db: Pick<OutboxConnection, 'query'>,
  t: OutboxTable,
  me: RelaySource,
  p: OutboxPosition,
): Promise<void> {
  await db.query(
    `INSERT INTO ${t.relay} AS r (topic, source, txid, position) VALUES ($1, $2, $3::xid8, $4)
     ON CONFLICT (topic, source) DO UPDATE
       SET txid = greatest(r.txid, EXCLUDED.txid), position = EXCLUDED.position, published_at = now()`,
    [me.topic, me.source, p.prunable, describePosition(p)],
  );
}

/**
 * Registers a deployment (`outbox init`): an earlier release's row of its source gets its topic,
 * and a source with no row gets one at the start, so `prune` keeps every row until it publishes them.
 */
export async function registerSource(
  db: Pick<OutboxConnection, 'query'>,
  t: OutboxTable,
  me: RelaySource,
): Promise<'claimed' | 'registered' | 'already'> {
  const claimed = await db.query(
    `UPDATE ${t.relay} r SET topic = $1 WHERE r.topic = '' AND r.source = $2
        AND NOT EXISTS (SELECT 1 FROM ${t.relay} m WHERE m.topic = $1 AND m.source = $2) RETURNING 1`,
    [me.topic, me.source],
  );
  if (claimed.length > 0) return 'claimed';
  const added = await db.query(
    `INSERT INTO ${t.relay} (topic, source, txid) VALUES ($1, $2, '0'::xid8)
     ON CONFLICT (topic, source) DO NOTHING RETURNING 1`,
    [me.topic, me.source],
  );
  return added.length > 0 ? 'registered' : 'already';
}

/** Deletes the rows every source of the table has published; how many, and below which transaction id. */
export async function pruneEverySource(
  db: Pick<OutboxConnection, 'query'>,
  t: OutboxTable,
): Promise<{ deleted: number; below: string | undefined }> {
  const [row] = await db.query<{ n: string; below: string | null }>(
    `WITH upto AS (SELECT min(txid) AS below FROM ${t.relay}),
          gone AS (DELETE FROM ${t.table} o USING upto WHERE o.txid < upto.below RETURNING 1)
     SELECT (SELECT count(*) FROM gone)::text AS n, (SELECT below::text FROM upto) AS below`,
  );
  return { deleted: Number(row?.n ?? 0), below: row?.below ?? undefined };
}
