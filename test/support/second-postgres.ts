// A second PostgreSQL cluster of its own (a data directory made by initdb now, on a free port):
// what a restore elsewhere, a failover without the slot, or a move to another cluster look like
// to the relay. It has the stack's role and database names, so only the secret tells them apart.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import { freePort } from './services.ts';

export interface SecondPostgres {
  /** The secret's fields for the outbox's role on it (as the stack seeds `order-events/postgres`). */
  secret: { host: string; port: number; database: string; user: string; password: string };
  stop(): Promise<void>;
}

export async function startSecondPostgres(): Promise<SecondPostgres> {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  const bin = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
  const home = mkdtempSync('/var/tmp/order-events-second-pg-');
  // PostgreSQL refuses to run as root: as root, it runs as the package's postgres user (as the stack does).
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? ['setpriv', '--reuid=postgres', `--regid=${gidOf('postgres')}`, '--init-groups', '--'] : [];
  chmodSync(home, 0o755);
  if (asRoot) chownSync(home, Number(execFileSync('id', ['-u', 'postgres']).toString()), gidOf('postgres'));
  const run = (program: string, args: string[]) =>
    execFileSync(prefix[0] ?? program, prefix.length ? [...prefix.slice(1), program, ...args] : args, {
      stdio: 'pipe',
    });
  run(`${bin}/initdb`, ['-D', `${home}/data`, '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--auth=trust']);
  const port = await freePort();
  const args = ['-D', `${home}/data`, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
  args.push('-c', `unix_socket_directories=${home}`, '-c', 'wal_level=logical', '-c', 'fsync=off');
  const server: ChildProcess = spawn(
    prefix[0] ?? `${bin}/postgres`,
    [...prefix.slice(1), ...(prefix.length ? [`${bin}/postgres`] : []), ...args],
    {
      stdio: 'ignore',
    },
  );
  const password = `second-${Math.random().toString(36).slice(2)}`;
  const admin = await connect({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  try {
    await admin.query(`CREATE ROLE order_events LOGIN REPLICATION PASSWORD '${password}'`);
    await admin.query('CREATE DATABASE order_events OWNER order_events');
  } finally {
    await admin.end();
  }
  return {
    secret: { host: '127.0.0.1', port, database: 'order_events', user: 'order_events', password },
    async stop() {
      server.kill('SIGINT');
      await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const gidOf = (user: string) => Number(execFileSync('id', ['-g', user]).toString());

/** Connects once the server accepts connections (it was just started). */
async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  for (let i = 0; ; i++) {
    const client = new pg.Client(config);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
