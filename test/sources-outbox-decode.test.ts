// Unit tests of the pgoutput decoding both readers share (a run's peek and the follower's stream):
// transactions the position holds are skipped, a transaction the position stopped inside resumes
// after its published rows, commits move the position, and only our heartbeat moves prune's bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pgoutput } from 'pg-logical-replication';
import { HEARTBEAT_PREFIX, TxnDecoder } from '../src/sources/outbox/decode.ts';
import type { OutboxPosition } from '../src/sources/outbox/position.ts';

const origin = { system: '7', timeline: 1, database: 'db', slot: 's' };
const at = (lsn: string, extra: Partial<OutboxPosition> = {}): OutboxPosition => ({
  ...origin,
  lsn,
  prunable: '0',
  ...extra,
});

const commitTime = BigInt(Date.parse('2026-12-03T10:00:00Z')) * 1000n;
const begin = (commitLsn: string) => ({ tag: 'begin', commitLsn, commitTime }) as unknown as Pgoutput.Message;
const insert = (id: number) =>
  ({
    tag: 'insert',
    new: { id: String(id), order_id: String(id), customer_id: `c${id}`, order_status: 'CREATED', order_total: 1 },
  }) as unknown as Pgoutput.Message;
const commit = (commitLsn: string, commitEndLsn: string) =>
  ({ tag: 'commit', commitLsn, commitEndLsn }) as unknown as Pgoutput.Message;
const message = (content: string) =>
  ({ tag: 'message', prefix: HEARTBEAT_PREFIX, content: Buffer.from(content) }) as unknown as Pgoutput.Message;

function decode(d: TxnDecoder, messages: Pgoutput.Message[]): string[] {
  const ids: string[] = [];
  for (const m of messages) {
    const event = d.apply(m);
    if (event) ids.push(d.ids.get(event)!);
  }
  return ids;
}

const txn = (start: string, end: string, ids: number[]) => [begin(start), ...ids.map(insert), commit(start, end)];

test('transactions the position holds are skipped; later ones are published whole, the position at their end', () => {
  const d = new TxnDecoder({ from: at('0/200'), recorded: true, maxEventBytes: 1_000_000, beatXmin: () => undefined });
  const ids = decode(d, [...txn('0/100', '0/180', [1, 2]), ...txn('0/300', '0/380', [3, 4])]);
  assert.deepEqual(ids, ['3', '4']);
  assert.equal(d.position.lsn, '0/380');
  assert.equal(d.position.inside, undefined);
  assert.equal(d.position.committedAt, '2026-12-03T10:00:00.000Z');
});

test('a position inside a transaction resumes after its published rows, and says how far it got', () => {
  const from = at('0/200', { inside: { commit: '0/300', rows: 2 } });
  const d = new TxnDecoder({ from, recorded: true, maxEventBytes: 1_000_000, beatXmin: () => undefined });
  const messages = txn('0/300', '0/380', [1, 2, 3, 4]);
  // Stop after one more row, as a batch that reached its maximum does.
  const ids = decode(d, messages.slice(0, 4));
  assert.deepEqual(ids, ['3']);
  assert.deepEqual(d.position.inside, { commit: '0/300', rows: 3 });
  assert.equal(d.position.lsn, '0/200');
  assert.equal(d.isRow(messages[4]!), true, 'the next row is one to publish');
  assert.deepEqual(decode(d, messages.slice(4)), ['4']);
  assert.equal(d.position.lsn, '0/380');
  assert.equal(d.position.inside, undefined);
});

test('only our own heartbeat moves the prune bound, at its commit', () => {
  const d = new TxnDecoder({
    from: at('0/100'),
    recorded: true,
    maxEventBytes: 1_000_000,
    beatXmin: (token) => (token === 'ours' ? '42' : undefined),
  });
  decode(d, [begin('0/200'), message('theirs'), commit('0/200', '0/210')]);
  assert.equal(d.position.prunable, '0');
  assert.equal(d.position.lsn, '0/210', 'an empty transaction still moves the position');
  decode(d, [begin('0/300'), message('ours')]);
  assert.equal(d.position.prunable, '0', 'not before its commit');
  assert.equal(d.open, true);
  decode(d, [commit('0/300', '0/310')]);
  assert.equal(d.position.prunable, '42');
  assert.equal(d.open, false);
});

test('an unrecorded start does not move until a transaction does', () => {
  const d = new TxnDecoder({ from: at('0/100'), recorded: false, maxEventBytes: 1_000_000, beatXmin: () => undefined });
  assert.equal(d.moved, false);
  decode(d, txn('0/200', '0/280', [1]));
  assert.equal(d.moved, true);
});

test('a row larger than the topic takes is cut and marked for the dead-letter topic', () => {
  const d = new TxnDecoder({ from: at('0/100'), recorded: true, maxEventBytes: 100, beatXmin: () => undefined });
  const big = {
    tag: 'insert',
    new: { id: '9', order_id: '9', customer_id: 'x'.repeat(5000), order_status: 'CREATED', order_total: 1 },
  } as unknown as Pgoutput.Message;
  d.apply(begin('0/200'));
  const event = d.apply(big)!;
  assert.equal((event['customer_id'] as string).length, 1024);
  assert.match(d.problems.get(event)!.message, /5\d{3} bytes; the topic takes records of at most 100/);
});
