// The step clock (src/engine/step-clock.ts): each mark records the time since the previous mark (or
// the clock's start), in ms to one decimal.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { stepClock } from '../src/engine/step-clock.ts';

/** performance.now answers `times` in turn for the rest of the test. */
function fakeNow(t: TestContext, ...times: number[]) {
  t.mock.method(performance, 'now', () => {
    assert.ok(times.length > 0, 'performance.now called more often than expected');
    return times.shift();
  });
}

test('each step is the time since the one before, rounded to 0.1 ms', (t) => {
  fakeNow(t, 100, 112.345, 112.345, 150.06);
  const clock = stepClock();
  clock.mark('open');
  clock.mark('check');
  clock.mark('produce');
  assert.deepEqual(clock.ms, { open: 12.3, check: 0, produce: 37.7 });
  assert.equal('commit' in clock.ms, false, 'a step never marked is absent, not 0');
});

test('marking a step again replaces its time with the time since the last mark', (t) => {
  fakeNow(t, 0, 5, 25);
  const clock = stepClock();
  const ms = clock.ms;
  clock.mark('open');
  clock.mark('open');
  assert.deepEqual(ms, { open: 20 }, 'the same object, updated in place');
});
