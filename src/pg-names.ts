// PostgreSQL names this project makes or accepts: the one rule for an outbox table's name
// (OUTBOX_TABLE, checked by the config and again by the table's SQL names), and names cut to fit
// PostgreSQL's 63 bytes.
import { createHash } from 'node:crypto';

/** `table` or `schema.table`, lower-case SQL identifiers (quoted in the SQL, so never injected). */
export const TABLE_NAME = /^(?:[a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/;
export const TABLE_NAME_RULE = 'expected a lower-case table name or schema.table (letters, digits, _)';

/** `<base><suffix>` within PostgreSQL's 63 bytes: a long base is cut and keeps a hash of itself. */
export function shortName(base: string, suffix: string): string {
  const name = `${base}${suffix}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 63 - suffix.length - 9)}_${hash}${suffix}`;
}
