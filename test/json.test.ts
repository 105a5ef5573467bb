// JSON checked against a zod shape (src/json.ts): the parsed value, and each problem worded for the
// caller's error (not JSON, or every issue as `path: message`, `(root)` for the value itself).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { decodeJson, wordIssues, type JsonProblem } from '../src/json.ts';

const shape = z.object({
  name: z.string({ error: 'expected a string' }),
  items: z.array(z.object({ n: z.number({ error: 'expected a number' }) })),
  size: z.number().default(3),
});

class Refused extends Error {
  constructor(readonly problem: JsonProblem) {
    super(problem.kind === 'syntax' ? 'not JSON' : problem.issues);
  }
}
const fail = (problem: JsonProblem) => new Refused(problem);

describe('decodeJson', () => {
  test('returns the value as the shape parsed it (defaults filled)', () => {
    assert.deepEqual(decodeJson('{"name":"a","items":[{"n":1}]}', shape, fail), {
      name: 'a',
      items: [{ n: 1 }],
      size: 3,
    });
  });

  test('text that is not JSON is thrown as the caller makes a syntax problem', () => {
    assert.throws(
      () => decodeJson('{"name":', shape, fail),
      (e: Error) => e instanceof Refused && e.problem.kind === 'syntax',
    );
  });

  test('the wrong shape is thrown with every issue, its path dotted', () => {
    assert.throws(
      () => decodeJson('{"name":1,"items":[{"n":1},{"n":"two"}]}', shape, fail),
      (e: Error) => {
        assert.ok(e instanceof Refused);
        assert.deepEqual(e.problem, { kind: 'shape', issues: 'name: expected a string; items.1.n: expected a number' });
        return true;
      },
    );
  });

  test('a value that is not the shape at all is worded as (root); `word` words each issue', () => {
    assert.throws(
      () => decodeJson('[1]', z.object({}, { error: 'expected an object' }), fail, (p, m) => `<${p}|${m}>`),
      (e: Error) => e instanceof Refused && e.message === '<(root)|expected an object>',
    );
  });
});

test('wordIssues joins with the separator given', () => {
  const parsed = shape.safeParse({ name: 2, items: 'x' });
  assert.ok(!parsed.success);
  assert.equal(
    wordIssues(parsed.error.issues, (p, m) => `${p}=${m.length > 0}`, ' | '),
    'name=true | items=true',
  );
});
