// The outbox connection's error mapping and secret handling (src/sources/outbox/connection.ts),
// without a server: PostgreSQL's errors become ours (retryable only where a retry can help, the
// secret named), and a refused login re-reads the secret once. Nothing here connects: the
// credentials never yield a login, so no pool is ever opened. Queries, cursors and the replication
// client need a server and are tested against the stack (test/outbox*.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthenticationError,
  ConfigError,
  ProducerError,
  SecretError,
  SourceQueryError,
  SourceUnavailableError,
} from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import type { PostgresCredentials } from '../src/secrets.ts';
import { createOutboxConnection } from '../src/sources/outbox/connection.ts';

/** An error as the server sends it (pg's DatabaseError carries a severity); a socket's has only a code. */
const pgError = (code: string, message = `error ${code}`) =>
  Object.assign(new Error(message), { code, severity: 'ERROR' });
const socketError = (code: string, message: string) => Object.assign(new Error(message), { code });

function connection(credentials: () => Promise<PostgresCredentials>) {
  const calls = { credentials: 0, invalidated: 0 };
  const c = createOutboxConnection({
    credentials: () => {
      calls.credentials++;
      return credentials();
    },
    invalidateCredentials: () => void calls.invalidated++,
    secretName: 'outbox/postgres',
    timeoutMs: 1000,
    logger: createLogger('error', () => undefined),
  });
  return { c, calls };
}

const never = () => Promise.reject(new Error('the test did not expect a login'));

describe('outbox connection errors', () => {
  const { c } = connection(never);

  test('a refused login is an AuthenticationError naming the secret; a missing database or table a ConfigError', () => {
    for (const code of ['28P01', '28000']) {
      const e = c.errorOf(pgError(code, 'password authentication failed'));
      assert.ok(e instanceof AuthenticationError, code);
      assert.equal(
        e.message,
        `PostgreSQL refused the credentials of secret outbox/postgres (${code}): password authentication failed`,
      );
    }
    const db = c.errorOf(pgError('3D000', 'database "orders" does not exist'));
    assert.ok(db instanceof ConfigError);
    assert.match(db.message, /^the outbox database in secret outbox\/postgres does not exist: database "orders"/);
    const table = c.errorOf(pgError('42P01', 'relation "order_outbox" does not exist'));
    assert.ok(table instanceof ConfigError);
    assert.match(table.message, /create the outbox table with `npm run outbox -- init` \(OUTBOX_TABLE\)$/);
    assert.ok(c.errorOf(pgError('42501', 'permission denied for table order_outbox')) instanceof ConfigError);
  });

  test('SQLSTATEs a retry can fix are a SourceUnavailableError naming the SQLSTATE, and keep the cause', () => {
    // connection, rollback (serialization, deadlock), resources, operator, system, lock, slot in use
    for (const code of ['08006', '08001', '40001', '40P01', '53300', '57P01', '57014', '58030', '55P03', '55006']) {
      const err = pgError(code, 'try again');
      const e = c.errorOf(err);
      assert.ok(e instanceof SourceUnavailableError && e.retryable, code);
      assert.equal(e.message, `the outbox's PostgreSQL failed the query (SQLSTATE ${code}): try again`);
      assert.equal(e.cause, err);
    }
  });

  test('any other SQLSTATE is a non-retryable SourceQueryError', () => {
    // syntax error, unique violation, object not in prerequisite state (not 55006/55P03), data exception
    for (const code of ['42601', '23505', '55000', '22P02', 'XX000']) {
      const e = c.errorOf(pgError(code, 'no'));
      assert.ok(e instanceof SourceQueryError && !e.retryable, code);
      assert.equal(e.message, `the outbox's PostgreSQL refused the query (SQLSTATE ${code}): no`);
    }
  });

  test('no SQLSTATE (a refused or reset socket, a client timeout) is a retryable "did not answer"', () => {
    const refused = socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
    // EPIPE has a SQLSTATE's shape (five capitals) but no severity: a write to a dropped connection.
    const sockets = [refused, socketError('ECONNRESET', 'read ECONNRESET'), socketError('EPIPE', 'write EPIPE')];
    for (const err of [...sockets, new Error('Query read timeout'), 'boom']) {
      const e = c.errorOf(err);
      assert.ok(e instanceof SourceUnavailableError, String(err));
      assert.match(e.message, /^the outbox's PostgreSQL did not answer: /);
    }
  });

  test("our own errors (the secret's) pass through unchanged", () => {
    const secret = new SecretError('secret outbox/postgres lacks key "host"');
    assert.equal(c.errorOf(secret), secret);
  });
});

describe('outbox connection secret', () => {
  test('a secret that cannot be read fails the query with its own error; the next query reads it again', async () => {
    const { c, calls } = connection(() => Promise.reject(new SecretError('secret outbox/postgres is not JSON')));
    await assert.rejects(c.query('SELECT 1'), (e: Error) => e instanceof SecretError && /not JSON/.test(e.message));
    await assert.rejects(c.query('SELECT 1'), SecretError);
    assert.equal(calls.credentials, 2, 'a failed open is not kept');
    assert.equal(calls.invalidated, 0, 'only a refused login drops the cached secret');
    await c.close();
  });

  test('a refused login drops the cached secret and tries once more, then says so', async () => {
    const { c, calls } = connection(() => Promise.reject(new AuthenticationError('refused')));
    await assert.rejects(c.query('SELECT 1'), (e: Error) => {
      assert.ok(e instanceof ProducerError && e instanceof AuthenticationError);
      assert.equal(e.message, 'refused (also after re-reading the secret)');
      return true;
    });
    assert.equal(calls.invalidated, 1);
    assert.equal(calls.credentials, 2);
    await c.close();
  });
});
