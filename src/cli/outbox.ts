// npm run outbox -- init | add | status | prune: the PostgreSQL outbox (EVENT_SOURCE=outbox). The
// connection comes from the same secret the worker reads (POSTGRES_SECRET_NAME).
import { Command } from 'commander';
import { positiveInt } from './options.ts';
import { runCommand } from './run-command.ts';
import { awsSecretReader } from '../secrets.ts';
import { outboxConnection } from '../sources/index.ts';
import type { OutboxConnection } from '../sources/outbox/connection.ts';
import { formatPosition } from '../sources/outbox/position.ts';
import { pruneEverySource, registerSource, relayRows } from '../sources/outbox/relay.ts';
import { LEGACY_TOPIC, outboxDdl, outboxTable, type OutboxTable } from '../sources/outbox/table.ts';
import type { App } from '../app.ts';

const program = new Command('outbox').description('Manage the PostgreSQL outbox the outbox source publishes');

/** The outbox's connection and table, for one command. */
async function withOutbox(app: App, work: (db: OutboxConnection, t: OutboxTable) => Promise<number | void>) {
  const { config, logger } = app;
  const db = outboxConnection(config, awsSecretReader(config.secrets.region, config.secrets.timeoutMs), logger);
  try {
    return await work(db, outboxTable(config.source.outbox.table));
  } finally {
    await db.close();
  }
}

program
  .command('init')
  .description('create the outbox table, its index and trigger, and its relay table (idempotent)')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        for (const statement of outboxDdl(t)) await db.query(statement);
        const me = { topic: app.config.kafka.topic, source: app.config.source.outbox.name };
        const registered = await registerSource(db, t, me);
        const said = {
          registered: 'registered: prune keeps every row until it is published here',
          claimed: 'given the earlier release’s relay row of its source',
          already: 'already registered',
        }[registered];
        console.log(`${t.name}: ready (and ${t.name}_relay); source ${me.source} → ${me.topic} ${said}`);
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
  .description('per topic and source: the last position published, rows waiting and the oldest one’s age')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const [all] = await db.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${t.table}`);
        console.log(`${t.name}: ${all?.rows} rows`);
        const rows = await relayRows(db, t);
        if (rows.length === 0) console.log('no source has published from it yet');
        for (const r of rows) {
          const [w] = await db.query<{ waiting: string }>(
            `SELECT count(*)::text AS waiting FROM ${t.table} WHERE (txid, id) > ($1::xid8, $2::bigint)`,
            [r.position.txid, r.position.id],
          );
          const topic = r.topic === LEGACY_TOPIC ? '(topic not recorded: run `npm run outbox -- init`)' : r.topic;
          console.log(
            `${r.source} → ${topic}: published up to ${formatPosition(r.position)} ` +
              `(${r.publishedAt.toISOString()}), ${w?.waiting} rows waiting`,
          );
        }
      }),
    ),
  );

program
  .command('prune')
  .description('delete the rows that every source of the table has published (any source that has not keeps them)')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const sources = await relayRows(db, t);
        const { deleted, upTo } = await pruneEverySource(db, t);
        const up = upTo ? ` (up to ${formatPosition(upTo)}, published by all ${sources.length} sources)` : '';
        console.log(`${t.name}: deleted ${deleted} rows${up}`);
      }),
    ),
  );

await program.parseAsync();
