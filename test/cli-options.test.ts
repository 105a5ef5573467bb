// The commands' shared option parsers (src/cli/options.ts), and each command refusing a bad number
// by name with exit code 1. The child processes fail while commander parses the options, before any
// action runs, so these need no services.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { positiveInt } from '../src/cli/options.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('positiveInt', () => {
  test('accepts whole numbers from 1', () => {
    const parse = positiveInt();
    assert.equal(parse('1'), 1);
    assert.equal(parse('20'), 20);
    assert.equal(parse(' 7 '), 7);
    assert.equal(parse('9007199254740991'), Number.MAX_SAFE_INTEGER);
  });

  test('refuses zero, negatives, fractions, garbage and empty, saying what it expects', () => {
    const parse = positiveInt();
    for (const v of ['0', '-1', '1.5', 'abc', '5x', '', ' ', '1e3', '+5', '0x10', '9007199254740993', 'Infinity']) {
      assert.throws(
        () => parse(v),
        (err: Error) => {
          assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(v)}: ${err.name}`);
          assert.equal(err.message, 'expected a whole number >= 1', JSON.stringify(v));
          return true;
        },
      );
    }
  });

  test('with a maximum: accepts it, refuses one more, and names the range', () => {
    const parse = positiveInt(10);
    assert.equal(parse('10'), 10);
    for (const v of ['11', '0', 'ten']) {
      assert.throws(() => parse(v), { name: 'InvalidArgumentError', message: 'expected a whole number from 1 to 10' });
    }
  });
});

async function cli(script: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the commands refuse a bad number by name, exit code 1', () => {
  const window = ['--from', '2024-01-01T00:00:00Z', '--to', '2024-01-01T01:00:00Z'];
  for (const [script, args, option] of [
    ['schedules/cli.ts', ['trigger', '--wait', '--timeout', 'abc'], '--timeout <seconds>'],
    ['schedules/cli.ts', ['backfill', ...window, '--timeout', '0'], '--timeout <seconds>'],
    ['src/cli/verify.ts', ['--minutes', '1.5'], '--minutes <n>'],
    ['src/cli/verify.ts', ['--limit', '5x'], '--limit <n>'],
    ['src/cli/dlq.ts', ['list', '--limit', '-1'], '--limit <n>'],
  ] as const) {
    test(`${script} ${args.join(' ')}`, async () => {
      const r = await cli(script, [...args]);
      assert.equal(r.code, 1, r.stderr);
      const value = args.at(-1)!;
      assert.ok(
        r.stderr.includes(`error: option '${option}' argument '${value}' is invalid. expected a whole number >= 1`),
        r.stderr,
      );
      assert.equal(r.stdout, '');
    });
  }
});
