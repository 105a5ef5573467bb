// npm run outbox -- init | add | status | prune: the PostgreSQL outbox (EVENT_SOURCE=outbox). The
// connection comes from the same secret the worker reads (POSTGRES_SECRET_NAME).
import { Command } from 'commander';
import { positiveInt } from './options.ts';
import { runCommand } from './run-command.ts';
import { awsSecretReader } from '../secrets.ts';
import { outboxConnection } from '../sources/index.ts';
import type { OutboxConnection } from '../sources/outbox/connection.ts';
import { outboxDdl, outboxTable, type OutboxTable } from '../sources/outbox/table.ts';
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
        console.log(`${t.name}: ready (and ${t.name}_relay)`);
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
  .description('per source: the last position published, rows waiting and the oldest one’s age')
  .action(() =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const [all] = await db.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${t.table}`);
        console.log(`${t.name}: ${all?.rows} rows`);
        const sources = await db.query<{ source: string; position: string; published_at: Date; waiting: string }>(
          `SELECT r.source, r.txid::text || ':' || r.last_id::text AS position, r.published_at,
                  (SELECT count(*) FROM ${t.table} o WHERE (o.txid, o.id) > (r.txid, r.last_id))::text AS waiting
             FROM ${t.relay} r ORDER BY r.source`,
        );
        if (sources.length === 0) console.log('no source has published from it yet');
        for (const s of sources) {
          console.log(
            `${s.source}: published up to ${s.position} (${s.published_at.toISOString()}), ${s.waiting} rows waiting`,
          );
        }
      }),
    ),
  );

program
  .command('prune')
  .description('delete the rows a source has published (kept: everything after its position)')
  .option('--source <name>', 'the source whose published rows go (default: this deployment’s OUTBOX_SOURCE_NAME)')
  .action((opts: { source?: string }) =>
    runCommand((app) =>
      withOutbox(app, async (db, t) => {
        const source = opts.source ?? app.config.source.outbox.name;
        const [deleted] = await db.query<{ n: string }>(
          `WITH gone AS (
             DELETE FROM ${t.table} o USING ${t.relay} r
              WHERE r.source = $1 AND (o.txid, o.id) <= (r.txid, r.last_id) RETURNING 1)
           SELECT count(*)::text AS n FROM gone`,
          [source],
        );
        console.log(`${t.name}: deleted ${deleted?.n} rows published by ${source}`);
      }),
    ),
  );

await program.parseAsync();
