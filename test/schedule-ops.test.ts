// Schedule operations users reach for: any cadence in a time zone, validated before anything is
// sent; describe in that zone; backfills of past slots that are exactly once (the run ledger).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { App } from '../src/app.ts';
import type { OrderEvent } from '../src/schema/order-event.ts';
import { slotsBetween, validateCron, validateTimezone } from '../schedules/spec.ts';
import { createTopicsFor, envFor, readDecoded, testApp, testConfig } from './support/app.ts';
import { scheduleCli } from './support/schedule-cli.ts';
import { uniqueName } from './support/services.ts';
import { startWorker, temporalClient, type TestWorker } from './support/worker.ts';

const schedule = scheduleCli;

describe('cadence validation (before anything is sent)', () => {
  test("the tutorial's four cadences are accepted", () => {
    for (const cron of ['*/5 * * * *', '0 * * * *', '0 9 * * *', '0 9 * * 1-5']) assert.equal(validateCron(cron), cron);
  });
  test('a bad cron expression is refused with the reason', () => {
    assert.throws(() => validateCron('abc'), /--cron "abc": expected 5 fields .* got 1/);
    assert.throws(() => validateCron('61 * * * *'), /--cron "61 \* \* \* \*": .*61.*0-59/);
    assert.throws(() => validateCron('* * * * * *'), /expected 5 fields/);
  });
  test('a time zone must be an IANA name', () => {
    assert.equal(validateTimezone('Europe/London'), 'Europe/London');
    assert.throws(() => validateTimezone('Mars/Olympus'), /--timezone "Mars\/Olympus": not an IANA time zone/);
  });
  test('weekdays at 9am in London follow the clock change (GMT, then BST)', () => {
    const slots = slotsBetween(
      '0 9 * * 1-5',
      'Europe/London',
      new Date('2026-03-27T00:00:00Z'),
      new Date('2026-04-01T00:00:00Z'),
      10,
    );
    assert.deepEqual(
      slots.map((s) => s.toISOString()),
      ['2026-03-27T09:00:00.000Z', '2026-03-30T08:00:00.000Z', '2026-03-31T08:00:00.000Z'],
    );
  });
});

describe('npm run schedule (real Temporal server)', () => {
  let client: Client;
  let app: App;
  let worker: TestWorker;
  let env: NodeJS.ProcessEnv;
  const ids: string[] = [];
  before(async () => {
    client = await temporalClient();
    const config = testConfig();
    await createTopicsFor(config);
    app = testApp(config);
    worker = await startWorker(app);
    env = envFor(config, { TEMPORAL_TASK_QUEUE: worker.taskQueue });
  });
  after(async () => {
    for (const id of ids)
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await worker?.stop();
    await app?.close();
    await client?.connection.close();
  });

  test('apply refuses a bad cron, time zone or event count, naming the option, and creates nothing', async () => {
    const id = uniqueName('sched-bad');
    for (const args of [
      ['--cron', 'abc'],
      ['--timezone', 'Mars/Olympus'],
      ['--event-count', 'abc'],
      ['--event-count', '0'],
      ['--event-count', '1000001'],
      ['--jitter', 'soon'],
    ]) {
      const r = await schedule(['--id', id, 'apply', ...args], env);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`option '${args[0]} `), r.stderr);
    }
    const d = await schedule(['--id', id, 'describe'], env);
    assert.match(d.stderr, /not found/);
  });

  test('a weekday 9am Europe/London schedule: describe shows the cadence and the next runs in that zone', async () => {
    const id = uniqueName('sched-london');
    ids.push(id);
    const args = ['--id', id, 'apply', '--cron', '0 9 * * 1-5', '--timezone', 'Europe/London'];
    const applied = await schedule(args, env);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /created \(0 9 \* \* 1-5 in Europe\/London, source generator\)/);
    assert.match((await schedule(args, env)).stdout, /unchanged/);
    const d = await schedule(['--id', id, 'describe'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /cadence\s+0 9 \* \* 1-5 in Europe\/London/);
    const next = [...d.stdout.matchAll(/next run\s+(\w{3}) \d{4}-\d{2}-\d{2} (\d{2}:\d{2}:\d{2}) (GMT|BST)/g)];
    assert.equal(next.length, 5, d.stdout);
    for (const [, weekday, time] of next) {
      assert.ok(!['Sat', 'Sun'].includes(weekday!), `a run on ${weekday}`);
      assert.equal(time, '09:00:00');
    }
  });

  test('backfill of three past slots produces three runs at those nominal times; the same backfill again adds nothing', async () => {
    const id = uniqueName('sched-backfill');
    ids.push(id);
    // Created paused: only the backfill starts runs, whatever the clock does during the test (an
    // apply then a pause could let the schedule fire at a slot boundary in between).
    assert.equal((await schedule(['--id', id, 'apply', '--paused', '--event-count', '4'], env)).code, 0);
    const d = await schedule(['--id', id, 'describe'], env);
    assert.match(d.stdout, /paused\s+true/, d.stdout);
    const step = 5 * 60_000;
    const from = new Date(Math.floor(Date.now() / step) * step - 4 * step);
    const to = new Date(from.getTime() + 3 * step);
    const window = ['--from', from.toISOString(), '--to', to.toISOString()];
    const slots = [0, 1, 2].map((i) => new Date(from.getTime() + i * step).toISOString());

    const first = await schedule(['--id', id, 'backfill', ...window, '--wait', '--timeout', '120'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /backfill of 3 run\(s\)/);
    assert.equal((first.stdout.match(/: Produced 4 events/g) ?? []).length, 3, first.stdout);
    const events = await readDecoded<OrderEvent>(app, app.config.kafka.topic);
    assert.equal(events.length, 12);
    assert.deepEqual(
      [...new Set(events.map((e) => new Date(Number(e.decoded.created_at)).toISOString()))].sort(),
      slots,
    );
    assert.deepEqual([...new Set(events.map((e) => new Date(e.timestamp).toISOString()))].sort(), slots);

    const again = await schedule(['--id', id, 'backfill', ...window, '--wait', '--timeout', '120'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stdout.match(/: Already produced 4 events/g) ?? []).length, 3, again.stdout);
    assert.equal(
      (await readDecoded<OrderEvent>(app, app.config.kafka.topic)).length,
      12,
      'the second backfill added no event',
    );
  });

  test('backfill refuses a future, reversed, too old or too large window', async () => {
    const id = uniqueName('sched-refuse');
    ids.push(id);
    assert.equal((await schedule(['--id', id, 'apply'], env)).code, 0);
    const iso = (ms: number) => new Date(ms).toISOString();
    const now = Date.now();
    const day = 24 * 3_600_000;
    const cases: [string, string, RegExp][] = [
      [iso(now - 3_600_000), iso(now + 3_600_000), /is in the future/],
      [iso(now - 3_600_000), iso(now - 7_200_000), /is not before --to/],
      [iso(now - 40 * day), iso(now - 39 * day), /older than the run ledger keeps slots/],
      [iso(now - 5 * day), iso(now - day), /more than 1000 runs/],
      ['yesterday', iso(now), /--from "yesterday": expected an ISO 8601 time/],
    ];
    for (const [from, to, reason] of cases) {
      const r = await schedule(['--id', id, 'backfill', '--from', from, '--to', to], env);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, reason);
    }
  });
});
