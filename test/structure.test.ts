// The structure check (scripts/check-structure.ts) finds what it is there to find, and src/ passes it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { LAYERS, importCycles, layerBreaks, layerOf, longFunctions } from '../scripts/check-structure.ts';

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

test('an import up a layer is reported, one down or within a layer is not, and a module in no layer is named', () => {
  const layers = [['src/errors.ts'], ['src/kafka/'], ['src/run-ledger/']];
  const graph = new Map([
    ['src/kafka/cluster-client.ts', ['src/run-ledger/index.ts', 'src/errors.ts', 'src/kafka/topics.ts']],
    ['src/run-ledger/index.ts', ['src/kafka/high-watermarks.ts']],
    ['src/elsewhere.ts', []],
  ]);
  assert.deepEqual(layerBreaks(graph, layers), [
    'upward import: src/kafka/cluster-client.ts (layer 1) imports src/run-ledger/index.ts (layer 2)',
    'src/elsewhere.ts is in no layer (scripts/check-structure.ts LAYERS)',
  ]);
  assert.deepEqual(
    layerBreaks(new Map([['src/run-ledger/a.ts', ['src/kafka/b.ts', 'src/run-ledger/c.ts']]]), layers),
    [],
  );
});

test('the layers: the ledger above Kafka, the registry above the secrets, the worker above the commands', () => {
  assert.ok(layerOf('src/run-ledger/index.ts') > layerOf('src/kafka/cluster-client.ts'));
  assert.ok(layerOf('src/schema/registry-client.ts') > layerOf('src/secrets.ts'));
  assert.ok(layerOf('src/worker.ts') > layerOf('src/cli/outbox.ts'));
  assert.equal(layerOf('src/nowhere/x.ts'), -1);
  assert.ok(LAYERS.length >= 12);
});

test('src/, bench/, schedules/ and scripts/: no function over 60 lines, no import cycle, no upward import', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/check-structure.ts'], { encoding: 'utf8' });
  assert.match(out, /no function over 60 lines, no import cycle, no upward import/);
});

test('the check exits 1 naming an upward import written into src/', () => {
  const copy = mkdtempSync(join(tmpdir(), 'structure-'));
  try {
    for (const dir of ['src', 'bench', 'schedules', 'scripts']) cpSync(dir, join(copy, dir), { recursive: true });
    symlinkSync(resolve('node_modules'), join(copy, 'node_modules'));
    const kafka = join(copy, 'src/kafka/partitioner.ts');
    writeFileSync(kafka, `import { engineUp } from '../engine/index.ts';\nexport const x = engineUp;\n`, { flag: 'a' });
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(copy, 'scripts/check-structure.ts')], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /upward import: src\/kafka\/partitioner\.ts \(layer \d+\) imports src\/engine\/index\.ts/,
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
