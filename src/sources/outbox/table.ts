// The outbox table and its relay table: the DDL `npm run outbox -- init` applies, and the names
// every query uses. A writer inserts one row per order event in the same transaction as its own
// change; the relay reads the inserts through the table's publication in commit order. The row's
// `txid` (the writing transaction's id, set by a trigger whatever the writer sends) is what `prune`
// goes by: every row of a transaction below a relay's recorded horizon was published.
import { ConfigError } from '../../errors.ts';
import { TABLE_NAME, TABLE_NAME_RULE, shortName } from '../../pg-names.ts';

export interface OutboxTable {
  /** The quoted outbox table, e.g. "public"."order_outbox". */
  table: string;
  /** The relay table: the last position published per topic and source (housekeeping and a guard, not the truth). */
  relay: string;
  /** The schema and the relay table's bare name (for the catalog). */
  schema: string;
  relayName: string;
  /** The publication the slot reads the table through (`<table>_outbox`), quoted and bare. */
  publication: string;
  publicationName: string;
  /** Its index and trigger names, quoted. */
  index: string;
  trigger: string;
  triggerFunction: string;
  /** As the user wrote it, for messages. */
  name: string;
}

export function outboxTable(name: string): OutboxTable {
  if (!TABLE_NAME.test(name)) throw new ConfigError(`OUTBOX_TABLE: ${TABLE_NAME_RULE}, got ${JSON.stringify(name)}`);
  const parts = name.split('.');
  const [schema, table] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['public', parts[0]!];
  const q = (id: string) => `"${schema}"."${id}"`;
  return {
    table: q(table),
    relay: q(`${table}_relay`),
    schema,
    relayName: `${table}_relay`,
    publication: `"${shortName(table, '_outbox')}"`,
    publicationName: shortName(table, '_outbox'),
    index: `"${table}_txid_id"`,
    trigger: `"${table}_txid"`,
    triggerFunction: q(`${table}_set_txid`),
    name,
  };
}

/** The DDL, idempotent: safe to apply again on every deploy. */
export function outboxDdl(t: OutboxTable): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.table} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      inserted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      order_id bigint,
      customer_id text,
      order_status text,
      order_total double precision,
      created_at timestamptz DEFAULT now()
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.index} ON ${t.table} (txid, id)`,
    // The writer's transaction id, whatever the INSERT says: the relay's ordering depends on it.
    `CREATE OR REPLACE FUNCTION ${t.triggerFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.txid := pg_current_xact_id(); RETURN NEW; END $$`,
    `DROP TRIGGER IF EXISTS ${t.trigger} ON ${t.table}`,
    `CREATE TRIGGER ${t.trigger} BEFORE INSERT ON ${t.table} FOR EACH ROW EXECUTE FUNCTION ${t.triggerFunction}()`,
    `CREATE TABLE IF NOT EXISTS ${t.relay} (
      topic text NOT NULL,
      source text NOT NULL,
      txid xid8 NOT NULL,
      position text,
      published_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (topic, source)
    )`,
    ...relayMigration(t),
  ];
}

/** Where a relay row of the earlier release (keyed by source only) keeps its unknown topic. */
export const LEGACY_TOPIC = '';

/**
 * The earlier release keyed the relay table by source only. Its rows are kept, with the topic
 * unknown (LEGACY_TOPIC): prune still waits for them, and `init` with a deployment's settings
 * gives that deployment's row its topic (relay.ts claimLegacyRow).
 */
function relayMigration(t: OutboxTable): string[] {
  return [
    `ALTER TABLE ${t.relay} ADD COLUMN IF NOT EXISTS topic text NOT NULL DEFAULT ''`,
    `DO $$
      DECLARE pk text;
      BEGIN
        SELECT conname INTO pk FROM pg_constraint
         WHERE conrelid = '${t.relay}'::regclass AND contype = 'p' AND cardinality(conkey) = 1;
        IF pk IS NOT NULL THEN
          EXECUTE format('ALTER TABLE ${t.relay} DROP CONSTRAINT %I', pk);
          ALTER TABLE ${t.relay} ADD PRIMARY KEY (topic, source);
        END IF;
      END $$`,
    `ALTER TABLE ${t.relay} ALTER COLUMN topic DROP DEFAULT`,
    // The earlier releases' (txid, last_id): every row below txid was published, which prune keeps to.
    `ALTER TABLE ${t.relay} ADD COLUMN IF NOT EXISTS position text`,
    `ALTER TABLE ${t.relay} DROP COLUMN IF EXISTS last_id`,
  ];
}
