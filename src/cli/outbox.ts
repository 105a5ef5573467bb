// npm run outbox -- init | add | status | prune | adopt-slot: the PostgreSQL outbox
// (EVENT_SOURCE=outbox). The connection comes from the same secret the worker reads (POSTGRES_SECRET_NAME).
import { Command } from 'commander';
import { positiveInt } from './options.ts';
import { runCommand } from './run-command.ts';
import { outboxConnection } from '../sources/index.ts';
import type { OutboxConnection } from '../sources/outbox/connection.ts';
import { initOutbox } from '../sources/outbox/init.ts';
import { pruneEverySource, relayRows } from '../sources/outbox/relay.ts';
import { GRANTS, slotState, walOrigin } from '../sources/outbox/slot.ts';
import { LEGACY_TOPIC, outboxTable, type OutboxTable } from '../sources/outbox/table.ts';
import type { App } from '../app.ts';
import { errorMessage } from '../errors.ts';
import { describeFollower, startFollower, stopFollower, withTemporal } from './follow.ts';

const program = new Command('outbox').description('Manage the PostgreSQL outbox the outbox source publishes');

/** The outbox's connection and table, for one command. */
async function withOutbox(app: App, work: (db: OutboxConnection, t: OutboxTable) => Promise<number | void>) {
  const { config, logger, credentials } = app;
  const db = outboxConnection({ config, credentials, logger });
  try {
    return await work(db, outboxTable(config.source.outbox.table));
  } finally {
    await db.close();
  }
}

program
  .command('init')
  .description('create the outbox table, its relay table, its publication and this deployment’s slot (idempotent)')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const { outbox } = app.config.source;
        const me = { topic: app.config.kafka.topic, source: outbox.name };
        const made = await initOutbox(db, t, me, outbox.slot).catch((err: unknown) => {
          throw Object.assign(err as Error, { message: `${errorMessage(err)}. The relay's role needs ${GRANTS}` });
        });
        const said = {
          registered: 'registered: prune keeps every row until it is published here',
          claimed: 'given the earlier release’s relay row of its source',
          already: 'already registered',
        }[made.registered];
        console.log(`${t.name}: ready (and ${t.name}_relay); source ${me.source} → ${me.topic} ${said}`);
        console.log(
          `publication ${t.publicationName}: ${made.publication ? 'created' : 'already there'}; ` +
            `replication slot ${outbox.slot}: ${made.slot ? 'created' : 'already there'} (pgoutput)`,
        );
        console.log(`the relay's role needs ${GRANTS}`);
      }),
    ),
  );

program
  .command('add')
  .description('insert sample order rows in one transaction (a stand-in for your service)')
  .option('--count <n>', 'rows to insert', positiveInt(1_000_000), 10)
  .action((opts: { count: number }) =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const [row] = await db.query<{ first: string; last: string }>(
          `WITH added AS (
             INSERT INTO ${t.table} (order_id, customer_id, order_status, order_total)
             SELECT (extract(epoch FROM now())::bigint * 1000000) + i, 'cust_' || (1000 + i),
                    (ARRAY['CREATED','CONFIRMED','SHIPPED'])[1 + i % 3], round((50 + i * 10.5)::numeric, 2)
               FROM generate_series(0, $1::int - 1) AS i
             RETURNING id)
           SELECT min(id)::text AS first, max(id)::text AS last FROM added`,
          [opts.count],
        );
        console.log(`${t.name}: added ${opts.count} rows (ids ${row?.first} … ${row?.last})`);
      }),
    ),
  );

program
  .command('status')
  .description('the slot (confirmed position, retained WAL) and, per topic and source, the last position published')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const [all] = await db.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${t.table}`);
        console.log(`${t.name}: ${all?.rows} rows`);
        const { slot } = app.config.source.outbox;
        try {
          const state = await slotState(db, await walOrigin(db, slot));
          const mb = (state.retainedBytes / 1_048_576).toFixed(1);
          console.log(`slot ${slot}: confirmed up to ${state.confirmed}, keeps ${mb} MiB of WAL (${state.walStatus})`);
        } catch (err) {
          console.log(`slot ${slot}: ${errorMessage(err)}`);
        }
        console.log(
          await withTemporal(app.config, (client) => describeFollower(client, app.config)).catch(
            (err: unknown) => `follower: not known (Temporal did not answer: ${errorMessage(err)})`,
          ),
        );
        const rows = await relayRows(db, t);
        if (rows.length === 0) console.log('no source has published from it yet');
        for (const r of rows) {
          const topic = r.topic === LEGACY_TOPIC ? '(topic not recorded: run `npm run outbox -- init`)' : r.topic;
          const where = r.position ? `published up to ${r.position}` : 'nothing published yet';
          console.log(
            `${r.source} → ${topic}: ${where} (${r.publishedAt.toISOString()}); ` +
              `every row of a transaction below ${r.prunableBelow} is published`,
          );
        }
      }),
    ),
  );

program
  .command('follow')
  .description(
    'start the following relay of this source (one workflow, `outbox-follow:<source>`, that streams the slot and ' +
      'commits a batch at a time); --stop cancels it and waits until its open batch is aborted',
  )
  .option('--stop', 'stop the running follower')
  .action((opts: { stop?: boolean }) =>
    runCommand((app) =>
      withTemporal(app.config, (client) =>
        opts.stop ? stopFollower(client, app.config) : startFollower(client, app.config),
      ),
    ),
  );

program
  .command('prune')
  .description('delete the rows that every source of the table has published (any source that has not keeps them)')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const sources = await relayRows(db, t);
        const { deleted, below } = await pruneEverySource(db, t);
        const up = below ? ` (transactions below ${below}, published by all ${sources.length} sources)` : '';
        console.log(`${t.name}: deleted ${deleted} rows${up}`);
      }),
    ),
  );

program
  .command('adopt-slot')
  .description(
    'record the slot’s confirmed position as this source’s position in the run ledger, accepting that rows ' +
      'committed before it are not published by this relay (after a restore, a failover or a recreated slot)',
  )
  .action(() =>
    runCommand(
      async (app) => {
        const outcome = await app.engine.produceRun({
          source: app.source,
          eventCount: 0,
          nominalTimeMs: Date.now(),
          run: { workflowId: `outbox-adopt-slot-${Date.now()}`, runId: 'cli', attempt: 1 },
          transactionTimeoutMs: 60_000,
        });
        console.log(`source ${app.source.name}: position adopted from the slot: ${outcome.source?.to ?? '(start)'}`);
      },
      { adoptSlot: true },
    ),
  );

await program.parseAsync();
