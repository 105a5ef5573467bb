// Unit tests with fakes for a transaction's life (src/kafka/transaction.ts), the commit handling
// of each backend (librdkafka's documented error classes; kafkajs's coordinator retries, our
// patch of kafkajs in patches/), and the end of kafkajs's own retries once a producer closes.
import type { LibrdKafkaError } from '@confluentinc/kafka-javascript';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { BackendTransaction, CommitResult } from '../src/kafka/backend.ts';
import { loadConfig } from '../src/config/index.ts';
import { AuthenticationError, ProducerFencedError, TransientError } from '../src/errors.ts';
import type { RdKafkaModule } from '../src/kafka/librdkafka/load.ts';
import { commitTransaction, openTransaction as librdkafkaOpen } from '../src/kafka/librdkafka/transaction.ts';
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

describe('kafkajs transaction coordinator requests (patches/kafkajs+2.2.4.patch)', () => {
  const require = createRequire(import.meta.url);
  const createEosManager = require('kafkajs/src/producer/eosManager') as (o: object) => {
    initProducerId(): Promise<void>;
    beginTransaction(): void;
    addPartitionsToTransaction(t: object[]): Promise<void>;
    commit(): Promise<void>;
  };
  const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
    createErrorFromCode: (code: number) => Error;
  };
  const { KafkaJSConnectionError } = require('kafkajs/src/errors') as {
    KafkaJSConnectionError: new (m: string) => Error;
  };
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };

  /** A cluster whose coordinator answers each request type with the given errors first. */
  function cluster(failures: Record<string, Error[]>) {
    const requests: string[] = [];
    let lookups = 0;
    const answer = (name: string, value: unknown) => async () => {
      requests.push(name);
      const err = failures[name]?.shift();
      if (err) throw err;
      return value;
    };
    const broker = {
      initProducerId: answer('InitProducerId', { producerId: 7, producerEpoch: 1 }),
      addPartitionsToTxn: answer('AddPartitionsToTxn', {}),
      endTxn: answer('EndTxn', {}),
    };
    return {
      requests,
      lookups: () => lookups,
      retry: { retries: 5, initialRetryTime: 5, maxRetryTime: 20 },
      refreshMetadataIfNecessary: async () => undefined,
      findGroupCoordinator: async () => {
        lookups++;
        return broker;
      },
    };
  }
  const open = async (c: ReturnType<typeof cluster>, isStopped = () => false) => {
    const eos = createEosManager({ logger: quiet, cluster: c, transactional: true, transactionalId: 'tx', isStopped });
    await eos.initProducerId();
    eos.beginTransaction();
    await eos.addPartitionsToTransaction([{ topic: 't', partitions: [{ partition: 0 }] }]);
    return eos;
  };

  test('EndTxn answered NOT_COORDINATOR, then COORDINATOR_LOAD_IN_PROGRESS, is sent again to the coordinator found anew', async () => {
    const c = cluster({ EndTxn: [createErrorFromCode(16), createErrorFromCode(14)] });
    const eos = await open(c);
    const lookupsBefore = c.lookups();
    await eos.commit();
    assert.deepEqual(
      c.requests.filter((r) => r === 'EndTxn'),
      ['EndTxn', 'EndTxn', 'EndTxn'],
    );
    assert.equal(c.lookups() - lookupsBefore, 3, 'the coordinator is looked up before every try');
  });

  test('an EndTxn whose answer was lost (connection closed) is sent again, and CONCURRENT_TRANSACTIONS waits', async () => {
    const c = cluster({ EndTxn: [new KafkaJSConnectionError('Connection closed'), createErrorFromCode(51)] });
    const eos = await open(c);
    await eos.commit();
    assert.equal(c.requests.filter((r) => r === 'EndTxn').length, 3);
  });

  test('AddPartitionsToTxn retries a moved coordinator', async () => {
    const c = cluster({ AddPartitionsToTxn: [createErrorFromCode(16)] });
    await open(c);
    assert.equal(c.requests.filter((r) => r === 'AddPartitionsToTxn').length, 2);
  });

  test('a fatal answer (the producer was fenced) is not retried', async () => {
    const c = cluster({ EndTxn: [createErrorFromCode(47)] });
    const eos = await open(c);
    await assert.rejects(eos.commit(), /epoch|fenced/i);
    assert.equal(c.requests.filter((r) => r === 'EndTxn').length, 1);
  });

  test('once the producer is disconnecting, a retry in progress stops: a late InitProducerId cannot fence a newer producer', async () => {
    let stopped = false;
    const c = cluster({ InitProducerId: [createErrorFromCode(51), createErrorFromCode(51)] });
    const eos = createEosManager({
      logger: quiet,
      cluster: c,
      transactional: true,
      transactionalId: 'tx',
      isStopped: () => stopped,
    });
    const registering = eos.initProducerId();
    // The first InitProducerId is answered CONCURRENT_TRANSACTIONS; then the caller gives up (its
    // timeout) and closes the producer while kafkajs waits to retry.
    while (!c.requests.includes('InitProducerId')) await new Promise((r) => setImmediate(r));
    stopped = true;
    await assert.rejects(registering, /disconnected/);
    assert.equal(c.requests.filter((r) => r === 'InitProducerId').length, 1, 'no InitProducerId after the close');
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

describe('kafkajs consumer: a stop during a fetcher rebuild (patches/kafkajs+2.2.4.patch)', () => {
  const require = createRequire(import.meta.url);
  const createFetchManager = require('kafkajs/src/consumer/fetchManager') as (o: object) => {
    start(): Promise<void>;
    stop(): Promise<void>;
  };
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => quiet };

  test('no fetcher starts after the stop (they would spin the event loop at 100% CPU)', async () => {
    let nodeIds = [1];
    let lookups = 0;
    let stopped = false;
    let fetchesAfterStop = 0;
    const manager: ReturnType<typeof createFetchManager> = createFetchManager({
      logger: quiet,
      // The broker set changes while fetching (a broker removed from the pool); the consumer is
      // stopped at the moment the fetcher notices it.
      getNodeIds: () => {
        lookups++;
        if (lookups === 3) {
          stopped = true;
          void manager.stop();
        }
        return nodeIds;
      },
      fetch: async () => {
        if (stopped && ++fetchesAfterStop > 1_000) throw new Error('still fetching after the stop');
        nodeIds = [1, 2];
        return [];
      },
      handler: async () => undefined,
    });
    await manager.start().catch(() => undefined);
    assert.equal(fetchesAfterStop, 0, `${fetchesAfterStop} fetches after the stop`);
  });
});
