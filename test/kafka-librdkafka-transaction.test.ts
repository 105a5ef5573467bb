// Unit tests with fakes for the librdkafka backend's transaction (src/kafka/librdkafka/transaction.ts):
// its commit, handled as librdkafka's documented error classes say, and a refused login named as
// such only while the producer opens.
import type { LibrdKafkaError } from '@confluentinc/kafka-javascript';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { AuthenticationError, TransientError } from '../src/errors.ts';
import type { RdKafkaModule } from '../src/kafka/librdkafka/load.ts';
import { commitTransaction, openTransaction as librdkafkaOpen } from '../src/kafka/librdkafka/transaction.ts';
import { createLogger } from '../src/logger.ts';

const logger = createLogger('error');

describe("librdkafka's commit, handled as its documentation says", () => {
  type Done = (err?: LibrdKafkaError | null) => void;
  /** A producer whose commit answers with the given errors in turn, then succeeds. */
  const producer = (answers: object[]) => {
    let tries = 0;
    return {
      tries: () => tries,
      commitTransaction(_timeout: number, cb: Done) {
        const answer = answers[tries++];
        setImmediate(() => cb(answer ? ({ message: 'commit failed', ...answer } as LibrdKafkaError) : null));
      },
    };
  };
  const call = (_what: string, _ms: number, start: (done: Done) => void) =>
    new Promise<void>((resolve, reject) =>
      start((err) => (err ? reject(Object.assign(new Error(err.message), err)) : resolve())),
    );

  test('a retriable error (a timed-out commit) is retried: the commit resumes and succeeds', async () => {
    const p = producer([
      { isRetriable: true, code: -185 },
      { isRetriable: true, code: -185 },
    ]);
    assert.deepEqual(await commitTransaction(p as never, 10_000, call as never, () => undefined), { ok: true });
    assert.equal(p.tries(), 3);
  });

  test('an error that requires an abort is not retried and asks for the abort', async () => {
    const p = producer([{ isTxnRequiresAbort: true, code: 48 }]);
    const result = await commitTransaction(p as never, 10_000, call, () => undefined);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.mustAbort, true);
    assert.equal(p.tries(), 1);
  });

  test('a record that failed asks for the abort, naming the record failure', async () => {
    const p = producer([{ code: -1 }]);
    const recordError = new Error('record failed: message too large');
    const result = await commitTransaction(p as never, 10_000, call, () => recordError);
    assert.deepEqual(result, { ok: false, error: recordError, mustAbort: true });
  });

  test('a fatal error is neither retried nor aborted (the producer is unusable; the next one fences it)', async () => {
    const p = producer([{ isFatal: true, isRetriable: false, code: -150 }]);
    const result = await commitTransaction(p as never, 10_000, call, () => undefined);
    assert.equal(!result.ok && result.mustAbort, false);
    assert.equal(p.tries(), 1);
  });

  test('retries stop at the bound, and the outcome is left unknown (no abort)', async () => {
    const p = producer(Array.from({ length: 1000 }, () => ({ isRetriable: true, code: -185 })));
    const result = await commitTransaction(p as never, 50, call, () => undefined);
    assert.equal(!result.ok && result.mustAbort, false);
    assert.ok(p.tries() >= 1);
  });
});

describe('librdkafka: a refused login names the failure only while the producer opens', () => {
  const AUTH = -169;
  const TIMED_OUT = -185;
  const TRANSPORT = -195;
  type Cb = (err?: unknown) => void;
  /** A librdkafka producer whose steps answer as `script` says; its events are emitted as librdkafka would. */
  const fakeModule = (script: { initFails?: boolean; commitFails?: boolean; authEventAt: 'open' | 'run' }) => {
    class FakeProducer extends EventEmitter {
      getMetadata(_o: unknown, cb: Cb) {
        cb(null);
      }
      setPollInBackground() {}
      connect(_o: unknown, cb: Cb) {
        cb(null);
      }
      initTransactions(_t: number, cb: Cb) {
        if (script.authEventAt === 'open') this.refuseLogin();
        cb(script.initFails ? { code: TRANSPORT, message: 'Local: Broker transport failure' } : null);
      }
      beginTransaction(cb: Cb) {
        cb(null);
      }
      commitTransaction(_t: number, cb: Cb) {
        if (script.authEventAt === 'run') this.refuseLogin();
        cb(script.commitFails ? { code: TIMED_OUT, message: 'Local: Timed out', isRetriable: false } : null);
      }
      abortTransaction(_t: number, cb: Cb) {
        cb(null);
      }
      disconnect(_t: number, cb: Cb) {
        cb(null);
      }
      produce() {}
      /** A new broker connection's SASL login refused (librdkafka reports it as an error event). */
      refuseLogin() {
        this.emit('event.error', { code: AUTH, message: 'SASL authentication error: Authentication failed' });
      }
    }
    return {
      Producer: FakeProducer,
      CODES: {
        ERRORS: {
          ERR__AUTHENTICATION: AUTH,
          ERR__TIMED_OUT: TIMED_OUT,
          ERR__TRANSPORT: TRANSPORT,
          ERR__QUEUE_FULL: -184,
        },
      },
    } as unknown as RdKafkaModule;
  };
  const config = loadConfig({ KAFKA_SEND_TIMEOUT_MS: '2000' }).kafka;
  const creds = { bootstrapServers: ['127.0.0.1:1'], apiKey: 'k', apiSecret: 's3cret' };
  const options = { transactionalId: 'tx', timeoutMs: 60_000 };

  test('refused while opening: a non-retryable AuthenticationError (the secret is re-read once by the caller)', async () => {
    const rd = fakeModule({ initFails: true, authEventAt: 'open' });
    await assert.rejects(librdkafkaOpen(rd, creds, config, options, logger), (err: Error) => {
      assert.ok(err instanceof AuthenticationError, `${err.name}: ${err.message}`);
      return true;
    });
  });

  test('refused on a new connection once open: the failure stays retryable (the next producer re-reads the secret)', async () => {
    const rd = fakeModule({ commitFails: true, authEventAt: 'run' });
    const tx = await librdkafkaOpen(rd, creds, config, options, logger);
    const committed = await tx.commit();
    assert.equal(committed.ok, false);
    const error = !committed.ok ? committed.error : undefined;
    assert.ok(!(error instanceof AuthenticationError), `not an AuthenticationError: ${error?.name}: ${error?.message}`);
    assert.ok(error instanceof TransientError, `${error?.name}: ${error?.message}`);
    assert.match(error.message, /Authentication failed/, "librdkafka's complaint is still named");
    await tx.close();
  });
});
