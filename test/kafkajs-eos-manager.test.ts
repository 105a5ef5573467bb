// Unit tests of kafkajs's transactional producer (kafkajs/src/producer/eosManager) as our patch
// (patches/kafkajs+2.2.4.patch) leaves it, on kafkajs's own code with a fake cluster: the
// coordinator requests the kafkajs backend's transactions (src/kafka/kafkajs/transaction.ts) rely
// on are retried where kafkajs sent them once, and kafkajs's own retries end once a producer closes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafkajsModule, quietKafkajsLogger as quiet } from './support/kafkajs-internals.ts';

describe('kafkajs transaction coordinator requests (patches/kafkajs+2.2.4.patch)', () => {
  const createEosManager = kafkajsModule<
    (o: object) => {
      initProducerId(): Promise<void>;
      beginTransaction(): void;
      addPartitionsToTransaction(t: object[]): Promise<void>;
      commit(): Promise<void>;
    }
  >('producer/eosManager');
  const { createErrorFromCode } = kafkajsModule<{ createErrorFromCode: (code: number) => Error }>('protocol/error');
  const { KafkaJSConnectionError } = kafkajsModule<{ KafkaJSConnectionError: new (m: string) => Error }>('errors');

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
