// The relay table, `<table>_relay`: one row per (topic, source) that publishes the outbox, with
// the last position a committed run recorded. It is housekeeping and a guard, never the truth (the
// ledger is): `prune` deletes only rows that every source of the table has published, and a first
// run (no position in the ledger) is refused when the table says it should have had one.
import { ConfigError, LedgerError } from '../../errors.ts';
import type { OutboxConnection } from './connection.ts';
import { formatPosition, type OutboxPosition } from './position.ts';
import { LEGACY_TOPIC, type OutboxTable } from './table.ts';

/** One deployment of the outbox: the topic it publishes to and its source name. */
export interface RelaySource {
  topic: string;
  source: string;
}

export interface RelayRow extends RelaySource {
  position: OutboxPosition;
  publishedAt: Date;
}

const START_TXID = '0';

const describe = (r: RelayRow) =>
  `${r.source} → ${r.topic === LEGACY_TOPIC ? '(topic not recorded: an earlier release)' : r.topic} up to ` +
  `${formatPosition(r.position)}`;

export async function relayRows(db: OutboxConnection, t: OutboxTable): Promise<RelayRow[]> {
  const rows = await db.query<{ topic: string; source: string; txid: string; last_id: string; published_at: Date }>(
    `SELECT topic, source, txid::text, last_id::text, published_at FROM ${t.relay} ORDER BY topic, source`,
  );
  return rows.map((r) => ({
    topic: r.topic,
    source: r.source,
    position: { txid: r.txid, id: r.last_id },
    publishedAt: r.published_at,
  }));
}

/** Refuses a relay table that is missing or still keyed by source only (the earlier release), with the remedy. */
export async function checkRelayTable(db: OutboxConnection, t: OutboxTable): Promise<void> {
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
export async function guardFirstRun(db: OutboxConnection, t: OutboxTable, me: RelaySource): Promise<void> {
  const rows = await relayRows(db, t);
  const mine = rows.find((r) => r.topic === me.topic && r.source === me.source);
  if (mine && mine.position.txid === START_TXID) return; // registered by init, nothing published yet
  if (mine) {
    throw new LedgerError(
      `the run ledger holds no position for source ${me.source} on ${me.topic}, but ${t.name}_relay says it published ` +
        `rows up to ${formatPosition(mine.position)} (${mine.publishedAt.toISOString()}): the ledger's record is gone ` +
        `(deleted by retention, KAFKA_RUNS_RETENTION_MS, or another ledger topic). Refusing to publish the outbox again ` +
        `from its first row. To publish again every row still in the table (those after the last prune), delete the ` +
        `row (topic '${me.topic}', source '${me.source}') from ${t.name}_relay`,
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

/** The position a committed run recorded (best effort: the ledger stays the truth). */
export async function recordPublished(
  db: OutboxConnection,
  t: OutboxTable,
  me: RelaySource,
  p: OutboxPosition,
): Promise<void> {
  await db.query(
    `INSERT INTO ${t.relay} AS r (topic, source, txid, last_id) VALUES ($1, $2, $3::xid8, $4::bigint)
     ON CONFLICT (topic, source) DO UPDATE SET txid = EXCLUDED.txid, last_id = EXCLUDED.last_id, published_at = now()
     WHERE (r.txid, r.last_id) < (EXCLUDED.txid, EXCLUDED.last_id)`,
    [me.topic, me.source, p.txid, p.id],
  );
}

/** The last position this source recorded in the relay table (undefined: none). */
export async function recordedPosition(
  db: OutboxConnection,
  t: OutboxTable,
  me: RelaySource,
): Promise<OutboxPosition | undefined> {
  const [row] = await db.query<{ txid: string; last_id: string }>(
    `SELECT txid::text, last_id::text FROM ${t.relay} WHERE topic = $1 AND source = $2`,
    [me.topic, me.source],
  );
  return row ? { txid: row.txid, id: row.last_id } : undefined;
}

/**
 * Registers a deployment (`outbox init`): an earlier release's row of its source gets its topic,
 * and a source with no row gets one at the start, so `prune` keeps every row until it publishes them.
 */
export async function registerSource(
  db: OutboxConnection,
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
    `INSERT INTO ${t.relay} (topic, source, txid, last_id) VALUES ($1, $2, '0'::xid8, 0)
     ON CONFLICT (topic, source) DO NOTHING RETURNING 1`,
    [me.topic, me.source],
  );
  return added.length > 0 ? 'registered' : 'already';
}

/** Deletes the rows every source of the table has published; how many, and up to where. */
export async function pruneEverySource(
  db: OutboxConnection,
  t: OutboxTable,
): Promise<{ deleted: number; upTo: OutboxPosition | undefined }> {
  const [row] = await db.query<{ n: string; txid: string | null; last_id: string | null }>(
    `WITH upto AS (SELECT txid, last_id FROM ${t.relay} ORDER BY txid, last_id LIMIT 1),
          gone AS (DELETE FROM ${t.table} o USING upto WHERE (o.txid, o.id) <= (upto.txid, upto.last_id) RETURNING 1)
     SELECT (SELECT count(*) FROM gone)::text AS n, (SELECT txid::text FROM upto) AS txid,
            (SELECT last_id::text FROM upto) AS last_id`,
  );
  const upTo = row?.txid && row.last_id ? { txid: row.txid, id: row.last_id } : undefined;
  return { deleted: Number(row?.n ?? 0), upTo };
}
