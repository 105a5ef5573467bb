// The outbox's PostgreSQL connections: one small pool per process, built from the secret on first
// use, every connect and query bounded (a frozen server fails the attempt instead of hanging it),
// and PostgreSQL's errors mapped to ours: what a retry can fix is a SourceUnavailableError.
import pg from 'pg';
import {
  AuthenticationError,
  ConfigError,
  ProducerError,
  SourceQueryError,
  SourceUnavailableError,
  errorMessage,
} from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { withReread, type PostgresCredentials } from '../../secrets.ts';

export interface OutboxConnectionDeps {
  credentials: () => Promise<PostgresCredentials>;
  /** Drops the cached secret (after a refused login), so the retry reads it again. */
  invalidateCredentials: () => void;
  secretName: string;
  /** Bound on connecting and on each query (OUTBOX_QUERY_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
}

export interface OutboxConnection {
  query<R extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * The rows of one query, `pageRows` at a time, through a cursor on one connection: the client
   * holds one page, whatever the query returns. Leaving the loop early closes the cursor.
   */
  pages<R extends Record<string, unknown>>(sql: string, params: unknown[], pageRows: number): AsyncIterable<R[]>;
  /** A connected client in replication mode, on its own connection (the following relay's stream). */
  replication(applicationName: string): Promise<pg.Client>;
  /** PostgreSQL's error as ours, as every query's is mapped. */
  errorOf(err: unknown): Error;
  close(): Promise<void>;
}

/** The connection settings from the secret, every connect bounded. */
async function loginOf(deps: OutboxConnectionDeps) {
  const c = await deps.credentials();
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    ssl: c.ssl ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: deps.timeoutMs,
  };
}

export function createOutboxConnection(deps: OutboxConnectionDeps): OutboxConnection {
  let pool: Promise<pg.Pool> | undefined;
  const login = () => loginOf(deps);
  // A refused login re-reads the secret once (it may have been rotated), on a new pool.
  const reread = async () => {
    deps.invalidateCredentials();
    const p = await pool?.catch(() => undefined);
    pool = undefined;
    await p?.end().catch(() => undefined);
  };
  const pooled = () => {
    pool ??= open();
    pool.catch(() => (pool = undefined));
    return pool;
  };
  const open = async () => {
    const p = new pg.Pool({
      ...(await login()),
      max: 2,
      query_timeout: deps.timeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'order-events-producer',
    });
    // An idle connection the server dropped (a restart) must not crash the worker.
    p.on('error', (err) => deps.logger.warn('outbox connection lost', { error: errorMessage(err) }));
    return p;
  };
  return {
    query<R extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]> {
      return withReread(async () => {
        try {
          return (await (await pooled()).query<R>(sql, params)).rows;
        } catch (err) {
          throw sourceError(err, deps);
        }
      }, reread);
    },
    async *pages<R extends Record<string, unknown>>(sql: string, params: unknown[], pageRows: number) {
      const client = await withReread(
        async () =>
          (await pooled()).connect().catch((err: unknown) => {
            throw sourceError(err, deps);
          }),
        reread,
      );
      yield* cursorPages<R>(client, deps, sql, params, pageRows);
    },
    replication: (applicationName) => withReread(() => replicationClient(deps, applicationName), reread),
    errorOf: (err) => sourceError(err, deps),
    async close() {
      const p = await pool?.catch(() => undefined);
      pool = undefined;
      await p?.end();
    },
  };
}

/** A connected client in replication mode (one try with the cached secret). */
async function replicationClient(deps: OutboxConnectionDeps, applicationName: string): Promise<pg.Client> {
  const options = { ...(await loginOf(deps)), replication: 'database', application_name: applicationName };
  const client = new pg.Client(options);
  client.on('error', () => undefined); // the stream listens for itself (stream.ts)
  try {
    await client.connect();
  } catch (err) {
    throw sourceError(err, deps);
  }
  return client;
}

/** A query's rows through a cursor in one transaction; the connection is released (destroyed unless it ended cleanly). */
async function* cursorPages<R extends Record<string, unknown>>(
  client: pg.PoolClient,
  deps: OutboxConnectionDeps,
  sql: string,
  params: unknown[],
  pageRows: number,
): AsyncGenerator<R[]> {
  const run = async <T extends Record<string, unknown>>(text: string, values?: unknown[]) => {
    try {
      return (await client.query<T>(text, values)).rows;
    } catch (err) {
      throw sourceError(err, deps);
    }
  };
  // A checked-out client has no pool listener: a server that drops it between pages (a restart)
  // would crash the worker with an unhandled 'error'. The next FETCH fails and says so instead.
  const lost = (err: Error) => deps.logger.warn('outbox connection lost', { error: errorMessage(err) });
  client.on('error', lost);
  let done = false;
  try {
    await run('BEGIN');
    await run(`DECLARE outbox_pages NO SCROLL CURSOR FOR ${sql}`, params);
    const fetch = () => {
      const page = run<R>(`FETCH ${Math.max(1, Math.floor(pageRows))} FROM outbox_pages`);
      page.catch(() => undefined); // awaited below, or abandoned with the connection
      return page;
    };
    // The next page is asked for while the caller works on this one: the wire and the server's
    // work overlap the encoding and the sends instead of adding to them.
    let next = fetch();
    for (;;) {
      const rows = await next;
      const more = rows.length >= pageRows;
      if (more) next = fetch();
      if (rows.length > 0) yield rows;
      if (!more) break;
    }
    await run('COMMIT');
    done = true;
  } finally {
    // A failed or abandoned cursor's connection is not reused: its transaction may still be open.
    client.off('error', lost);
    client.release(!done);
  }
}

/**
 * SQLSTATE classes a retry can fix: the connection (08), a transaction rolled back by the server
 * (40: serialization, deadlock), too few resources (53), an operator's intervention (57: a restart,
 * a cancelled or timed-out statement), a system error (58), a lock not available (55P03), and an
 * object in use (55006: the replication slot held by another run of the source, which fences it).
 */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)|^55P03$|^55006$/;

/** PostgreSQL's errors as ours: named for what they are, retryable only where a retry can help. */
function sourceError(err: unknown, deps: OutboxConnectionDeps): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const message = errorMessage(err);
  if (code === '28P01' || code === '28000') {
    return new AuthenticationError(
      `PostgreSQL refused the credentials of secret ${deps.secretName} (${String(code)}): ${message}`,
    );
  }
  if (code === '3D000')
    return new ConfigError(`the outbox database in secret ${deps.secretName} does not exist: ${message}`);
  if (code === '42P01') {
    return new ConfigError(`${message}: create the outbox table with \`npm run outbox -- init\` (OUTBOX_TABLE)`);
  }
  if (code === '42501') return new ConfigError(`PostgreSQL refused the outbox query: ${message}`);
  if (err instanceof ProducerError) return err; // the secret's own errors
  // A server's answer carries a severity; a socket's error (EPIPE, ECONNRESET) has a code of the same shape but none.
  const fromServer = typeof (err as { severity?: unknown } | null)?.severity === 'string';
  if (fromServer && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (TRANSIENT_SQLSTATE.test(code)) {
      return new SourceUnavailableError(`the outbox's PostgreSQL failed the query (SQLSTATE ${code}): ${message}`, {
        cause: err,
      });
    }
    return new SourceQueryError(`the outbox's PostgreSQL refused the query (SQLSTATE ${code}): ${message}`, {
      cause: err,
    });
  }
  return new SourceUnavailableError(`the outbox's PostgreSQL did not answer: ${message}`, { cause: err });
}
