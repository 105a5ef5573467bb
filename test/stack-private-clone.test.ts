// A clone in a private directory (0700: root's home in a container, or `mktemp -d`) brings the
// stack's PostgreSQL up: as root the server runs as the `postgres` user, which cannot enter the
// clone, so its data lives where that user can reach it, keyed by the clone, and `stack:down
// --purge` removes it. The clone's PostgreSQL runs beside the suite's, on a port of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import pg from 'pg';

const run = promisify(execFile);
const ROOT = process.cwd();

test('a fresh clone inside a 0700 directory brings up its PostgreSQL, and down --purge removes its data', async () => {
  const home = mkdtempSync(join(tmpdir(), 'private-'));
  assert.equal(statSync(home).mode & 0o777, 0o700, 'the clone sits in a directory only its owner can enter');
  const clone = join(home, 'order-events-producer');
  await run('git', ['clone', '--quiet', ROOT, clone]);
  const env = { ...process.env, STACK_ONLY: 'postgres', STACK_POSTGRES_PORT: String(45_000 + (process.pid % 1000)) };
  const stack = (...args: string[]) => run('bash', ['stack/stack.sh', ...args], { cwd: clone, env, timeout: 180_000 });
  try {
    await stack('up');
    const url = /STACK_POSTGRES_URL=(\S+)/.exec(readFileSync(join(clone, '.stack/env'), 'utf8'))?.[1];
    assert.ok(url, 'the clone wrote its PostgreSQL URL');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ db: string }>('SELECT current_database() AS db');
      assert.equal(rows[0]?.db, 'order_events');
    } finally {
      await db.end();
    }
    const asRoot = process.getuid?.() === 0;
    const dataHome = asRoot
      ? readFileSync(join(clone, '.stack/postgres-home'), 'utf8').trim()
      : join(clone, '.stack/postgres');
    if (asRoot)
      assert.ok(!dataHome.startsWith(home), `as root the data lives outside the private directory: ${dataHome}`);
    assert.ok(existsSync(join(dataHome, 'data/PG_VERSION')));
    await stack('down', '--purge');
    assert.equal(existsSync(dataHome), false, 'down --purge removed the clone’s data');
  } finally {
    await stack('down', '--purge').catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
});
