// The structured logger (src/logger.ts): one JSON line per call at or above the level, bigints as
// decimal strings, errors with their name, message, type and cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, type LogLevel } from '../src/logger.ts';

function capture(level?: LogLevel, base?: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => lines.push(line), base);
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

test('lines below the level are dropped; the default level is info', () => {
  const warn = capture('warn');
  warn.logger.debug('d');
  warn.logger.info('i');
  warn.logger.warn('w');
  warn.logger.error('e');
  assert.deepEqual(
    warn.parsed().map((l) => [l['level'], l['message']]),
    [
      ['warn', 'w'],
      ['error', 'e'],
    ],
  );
  const byDefault = capture();
  byDefault.logger.debug('d');
  byDefault.logger.info('i');
  assert.deepEqual(
    byDefault.parsed().map((l) => l['message']),
    ['i'],
  );
});

test('a line is one JSON object: time, level, message, the base fields and the call meta', () => {
  const { logger, lines, parsed } = capture('debug', { worker: 'w1', topic: 'base' });
  logger.debug('hello', { topic: 'orders', count: 3 });
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, /\n/);
  const [line] = parsed();
  assert.match(String(line!['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(
    { ...line, time: undefined },
    { time: undefined, level: 'debug', message: 'hello', worker: 'w1', topic: 'orders', count: 3 },
  );
});

test('bigints are decimal strings (64-bit order ids lose no digits)', () => {
  const { logger, parsed } = capture('info');
  logger.info('ids', { first: 2n ** 63n - 1n, nested: { last: 12n } });
  assert.equal(parsed()[0]!['first'], '9223372036854775807');
  assert.deepEqual(parsed()[0]!['nested'], { last: '12' });
});

test('an error keeps its name, message, type and cause (not "{}")', () => {
  const { logger, parsed } = capture('info');
  const cause = Object.assign(new Error('broker gone'), { type: 'NETWORK' });
  const err = new TypeError('send failed', { cause });
  logger.error('failed', { err, plain: new RangeError('r') });
  const line = parsed()[0]!;
  assert.deepEqual(line['err'], {
    name: 'TypeError',
    message: 'send failed',
    cause: { name: 'Error', message: 'broker gone', type: 'NETWORK' },
  });
  assert.deepEqual(line['plain'], { name: 'RangeError', message: 'r' }, 'no type or cause keys when there are none');
});
