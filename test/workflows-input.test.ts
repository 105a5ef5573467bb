// The workflow's input check (src/workflows/input.ts): no input is 10 events; anything else must be
// an object with an integer eventCount in range and an optional source name, refused non-retryably
// naming what is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { runInputOf } from '../src/workflows/input.ts';

/** Asserts `input` is refused as a non-retryable InvalidInputError whose message matches `message`. */
function refused(input: unknown, message: RegExp, max = 100): void {
  assert.throws(
    () => runInputOf(input, max),
    (err: Error) => {
      assert.ok(err instanceof ApplicationFailure, err.name);
      assert.equal(err.type, 'InvalidInputError');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, message);
      return true;
    },
  );
}

test('no input is 10 events from whatever source; a missing eventCount is 10 too', () => {
  assert.deepEqual(runInputOf(undefined, 100), { eventCount: 10 });
  assert.deepEqual(runInputOf({}, 100), { eventCount: 10 });
  assert.deepEqual(runInputOf({ source: 'outbox:order_outbox' }, 100), {
    eventCount: 10,
    source: 'outbox:order_outbox',
  });
  assert.deepEqual(runInputOf({ eventCount: 100 }, 100), { eventCount: 100 }, 'the maximum itself');
});

test('anything but an object is refused, showing what came', () => {
  refused(null, /the input must be an object like \{"eventCount": 10\}, got null/);
  refused(5, /got 5$/);
  refused([{ eventCount: 1 }], /got \[\{"eventCount":1\}\]/);
});

test('a typo is refused naming the unknown fields, not answered with the default', () => {
  refused({ count: 5, Source: 'x' }, /unknown field\(s\) "count", "Source"; its fields are "eventCount" and "source"/);
});

test('eventCount must be an integer from 1 to the maximum', () => {
  for (const bad of [0, 101, 2.5, '5', null]) {
    refused({ eventCount: bad }, new RegExp(`eventCount must be an integer from 1 to 100, got ${JSON.stringify(bad)}`));
  }
});

test("source must be a source's name", () => {
  for (const bad of ['', 'has space', 'x'.repeat(201), 7]) {
    refused({ source: bad }, /source must be a source's name \("generator", or an outbox's OUTBOX_SOURCE_NAME/);
  }
  assert.equal(runInputOf({ source: 'x'.repeat(200) }, 100).source?.length, 200);
});
