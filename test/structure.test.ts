// The structure check (scripts/check-structure.ts) finds what it is there to find, and src/ passes it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { importCycles, longFunctions } from '../scripts/check-structure.ts';

test('a function over the limit is reported with its name and length, nested closures counted in', () => {
  const body = Array.from({ length: 8 }, (_, i) => `  const x${i} = ${i};`).join('\n');
  const text = `export function outer() {\n  const inner = () => {\n${body}\n  };\n  return inner;\n}\n`;
  assert.deepEqual(
    longFunctions('f.ts', text, 10).map((f) => [f.name, f.lines]),
    [['outer', 13]],
  );
  assert.deepEqual(longFunctions('f.ts', text, 13), []);
});

test('an import cycle is reported; a one-way graph is not', () => {
  const cyclic = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(importCycles(cyclic), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(
    importCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('src/, bench/, schedules/ and scripts/ have no function over 60 lines and no import cycle', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/check-structure.ts'], { encoding: 'utf8' });
  assert.match(out, /no function over 60 lines, no import cycle/);
});
