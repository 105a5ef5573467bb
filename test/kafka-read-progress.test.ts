// How far a read_committed consumer has read (src/kafka/read-progress.ts), over a fake consumer's
// END_BATCH_PROCESS events: a partition is read to its last batch's offset + 1, never backwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consumer } from 'kafkajs';
import { trackReadProgress } from '../src/kafka/read-progress.ts';

const END_BATCH_PROCESS = 'consumer.end_batch_process';

function fakeConsumer() {
  const listeners: ((event: { payload: { partition: number; lastOffset: string } }) => void)[] = [];
  const consumer = {
    events: { END_BATCH_PROCESS },
    on(event: string, listener: (typeof listeners)[number]) {
      assert.equal(event, END_BATCH_PROCESS);
      listeners.push(listener);
      return () => undefined;
    },
  } as unknown as Consumer;
  const batchEnded = (partition: number, lastOffset: number) =>
    listeners.forEach((l) => l({ payload: { partition, lastOffset: String(lastOffset) } }));
  return { consumer, batchEnded };
}

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test('an empty target, or ends of 0, are reached at once', async () => {
  const progress = trackReadProgress(fakeConsumer().consumer);
  assert.equal(await settled(progress.reached(new Map())), true);
  assert.equal(await settled(progress.reached(new Map([[3, 0]]))), true);
});

test('reached waits for every partition; behind names those still short', async () => {
  const { consumer, batchEnded } = fakeConsumer();
  const progress = trackReadProgress(consumer);
  const target = new Map([
    [0, 10],
    [1, 5],
  ]);
  const waiting = progress.reached(target);
  batchEnded(0, 9);
  assert.equal(await settled(waiting), false, 'partition 1 is not read yet');
  assert.equal(progress.behind(target), 'partition 1 read to 0 of 5');
  batchEnded(1, 3);
  assert.equal(progress.behind(target), 'partition 1 read to 4 of 5');
  batchEnded(1, 4);
  assert.equal(await settled(waiting), true);
  assert.equal(progress.behind(target), '');
});

test('an earlier batch reported late does not move a partition back', async () => {
  const { consumer, batchEnded } = fakeConsumer();
  const progress = trackReadProgress(consumer);
  batchEnded(2, 20);
  batchEnded(2, 7);
  assert.equal(progress.behind(new Map([[2, 22]])), 'partition 2 read to 21 of 22');
  assert.equal(await settled(progress.reached(new Map([[2, 21]]))), true);
});

test('each waiter resolves when its own target is reached', async () => {
  const { consumer, batchEnded } = fakeConsumer();
  const progress = trackReadProgress(consumer);
  const near = progress.reached(new Map([[0, 2]]));
  const far = progress.reached(new Map([[0, 100]]));
  batchEnded(0, 1);
  assert.deepEqual([await settled(near), await settled(far)], [true, false]);
  batchEnded(0, 99);
  assert.equal(await settled(far), true);
});
