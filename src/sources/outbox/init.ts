// `npm run outbox -- init` (and the tests' and bench's set-up): the tables, this deployment's relay
// row, the publication and the slot, each idempotent. The slot comes last, after the publication:
// it decodes the table's rows from its own creation on.
import type { OutboxConnection } from './connection.ts';
import { registerSource, type RelaySource } from './relay.ts';
import { createSlot } from './slot.ts';
import { outboxDdl, type OutboxTable } from './table.ts';

export async function initOutbox(db: Pick<OutboxConnection, 'query'>, t: OutboxTable, me: RelaySource, slot: string) {
  for (const statement of outboxDdl(t)) await db.query(statement);
  const registered = await registerSource(db, t, me);
  const made = await createSlot(db, t, slot);
  return { registered, ...made };
}
