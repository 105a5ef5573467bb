// Unit tests with fakes for a transaction's life (src/kafka/transaction.ts), the order both
// backends share: work, then commit or abort, then close.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendTransaction, CommitResult } from '../src/kafka/backend.ts';
import { AuthenticationError, ProducerFencedError, TransientError } from '../src/errors.ts';
import { runTransaction } from '../src/kafka/transaction.ts';
import { createLogger } from '../src/logger.ts';

const logger = createLogger('error');

function fakeTransaction(commitResult: CommitResult | (() => CommitResult), abortFails: boolean | Error = false) {
  const calls: string[] = [];
  const tx: BackendTransaction = {
    send: async () => {
      calls.push('send');
      return [];
    },
    commit: async () => {
      calls.push('commit');
      return typeof commitResult === 'function' ? commitResult() : commitResult;
    },
    abort: async () => {
      calls.push('abort');
      if (abortFails) throw abortFails instanceof Error ? abortFails : new Error('abort failed');
    },
    close: async () => {
      calls.push('close');
    },
  };
  return { tx, calls };
}

describe('one transaction skeleton for both backends', () => {
  const options = { transactionalId: 'tx', timeoutMs: 60_000 };

  test('work that succeeds is committed, then the producer closed', async () => {
    const { tx, calls } = fakeTransaction({ ok: true });
    const observed: string[] = [];
    const observe = { committed: () => observed.push('committed'), aborted: () => observed.push('aborted') };
    const result = await runTransaction(
      tx,
      { ...options, observe },
      async (t) => {
        await t.send([]);
        return 42;
      },
      logger,
    );
    assert.equal(result, 42);
    assert.deepEqual(calls, ['send', 'commit', 'close']);
    assert.deepEqual(observed, ['committed']);
  });

  test('work that throws is aborted, never committed; a failed abort does not hide the error', async () => {
    const { tx, calls } = fakeTransaction({ ok: true }, true);
    await assert.rejects(
      runTransaction(tx, options, async () => Promise.reject(new Error('work failed')), logger),
      /work failed/,
    );
    assert.deepEqual(calls, ['abort', 'close']);
  });

  test('a retryable failure whose abort is refused as fenced is the fence (never restarted inside the attempt)', async () => {
    const fence = new ProducerFencedError('a newer attempt of this run took over while aborting (PRODUCER_FENCED)');
    const { tx } = fakeTransaction({ ok: true }, fence);
    const purged = new TransientError('Kafka error while sending records: Local: Purged in queue');
    await assert.rejects(
      runTransaction(tx, options, async () => Promise.reject(purged), logger),
      (err: Error) => {
        assert.ok(err instanceof ProducerFencedError, `${err.name}: ${err.message}`);
        assert.match(err.message, /took over.*Purged in queue/);
        return true;
      },
    );
    // A failure that is not retryable stays itself: the fence does not hide it.
    const bad = new AuthenticationError('refused');
    await assert.rejects(
      runTransaction(fakeTransaction({ ok: true }, fence).tx, options, async () => Promise.reject(bad), logger),
      (err: Error) => err === bad,
    );
  });

  test('a cancelled attempt does no work and commits nothing', async () => {
    const { tx, calls } = fakeTransaction({ ok: true });
    const throwIfCancelled = () => {
      throw new Error('cancelled');
    };
    await assert.rejects(
      runTransaction(tx, { ...options, throwIfCancelled }, async (t) => t.send([]), logger),
      /cancelled/,
    );
    assert.deepEqual(calls, ['abort', 'close']);
  });

  test('a commit whose outcome is unknown is not aborted (the next producer with the id settles it)', async () => {
    const error = new Error('commit timed out');
    const { tx, calls } = fakeTransaction({ ok: false, error, mustAbort: false });
    await assert.rejects(
      runTransaction(tx, options, async () => 1, logger),
      (err) => err === error,
    );
    assert.deepEqual(calls, ['commit', 'close']);
  });

  test('a commit the client says needs an abort is aborted', async () => {
    const error = new Error('a record failed');
    const { tx, calls } = fakeTransaction({ ok: false, error, mustAbort: true });
    await assert.rejects(
      runTransaction(tx, options, async () => 1, logger),
      (err) => err === error,
    );
    assert.deepEqual(calls, ['commit', 'abort', 'close']);
  });
});
