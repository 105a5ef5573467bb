// The process's run ledgers (src/run-ledger/ledgers.ts) over a fake cluster client: one ledger per
// topic, its retention asked of the cluster for its own topic, and every ledger dropped when the
// cluster client closes (or the ledgers do), so the next `get` builds a new one. The ledgers are
// built on a real kafkajs client whose broker is a local socket that only counts connections:
// building, answering `get` and closing a ledger must not reach a broker.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../src/logger.ts';
import { createRunLedgers } from '../src/run-ledger/ledgers.ts';

/** `kafka` as seen through a proxy that counts how often something was built on it (read its properties). */
function watched(kafka: Kafka): { kafka: Kafka; uses: () => number } {
  let uses = 0;
  const proxy = new Proxy(kafka, {
    get(target, property, receiver) {
      uses++;
      return Reflect.get(target, property, receiver) as unknown;
    },
    ownKeys(target) {
      uses++;
      return Reflect.ownKeys(target);
    },
  });
  return { kafka: proxy, uses: () => uses };
}

/** A cluster client as the ledgers use it: `get`, `onClose` and `retentionMs`, each call recorded. */
function fakeCluster(first: Kafka) {
  let kafka = first;
  const calls = { get: 0, retention: [] as string[] };
  const listeners: (() => Promise<void>)[] = [];
  let refuse: Error | undefined;
  return {
    calls,
    listeners,
    refuseNext(err: Error) {
      refuse = err;
    },
    /** What the cluster client does when it closes (a failure, a rotation): tells every listener; `next` serves from then. */
    async closed(next: Kafka = kafka) {
      kafka = next;
      await Promise.all(listeners.map((l) => l()));
    },
    client: {
      async get() {
        calls.get++;
        const err = refuse;
        refuse = undefined;
        if (err) throw err;
        return { kafka };
      },
      onClose(listener: () => Promise<void>) {
        listeners.push(listener);
      },
      async retentionMs(topic: string) {
        calls.retention.push(topic);
        return 7 * 86_400_000;
      },
    },
  };
}

describe('run ledgers', () => {
  let broker: Server;
  let connections = 0;
  let kafka: Kafka;
  const logger = createLogger('error', () => undefined);

  before(async () => {
    broker = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const { port } = broker.address() as AddressInfo;
    kafka = new Kafka({ clientId: 'unit', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await new Promise((resolve) => broker.close(resolve));
    assert.equal(connections, 0, 'no test reached the broker');
  });

  test('one ledger per topic, for the topic asked, its retention asked of the cluster for that topic', async () => {
    const cluster = fakeCluster(kafka);
    const ledgers = createRunLedgers({ cluster: cluster.client, timeoutMs: 1000, logger });
    assert.equal(cluster.listeners.length, 1, 'the ledgers listen for the cluster client closing');
    const runs = await ledgers.get('order-events.runs');
    assert.equal(runs.topic, 'order-events.runs');
    assert.equal(await ledgers.get('order-events.runs'), runs);
    const other = await ledgers.get('staging.runs');
    assert.notEqual(other, runs);
    assert.equal(other.topic, 'staging.runs');
    assert.equal(await other.retentionMs(), 7 * 86_400_000);
    assert.deepEqual(cluster.calls.retention, ['staging.runs']);
    assert.equal(cluster.calls.get, 3, 'every get goes through the cluster client (connected now if it is not)');
    await ledgers.close();
  });

  test('a cluster client that closes drops every ledger: the next get builds a new one on the new client', async () => {
    const old = watched(kafka);
    const rebuilt = watched(kafka);
    const cluster = fakeCluster(old.kafka);
    const ledgers = createRunLedgers({ cluster: cluster.client, timeoutMs: 1000, logger });
    const before = await ledgers.get('order-events.runs');
    const staging = await ledgers.get('staging.runs');
    const oldUses = old.uses();
    assert.ok(oldUses > 0, 'the ledgers were built on the client the cluster gave');
    await ledgers.get('order-events.runs');
    assert.equal(old.uses(), oldUses, 'a ledger held is not built again');

    await cluster.closed(rebuilt.kafka);
    const afterClose = await ledgers.get('order-events.runs');
    assert.notEqual(afterClose, before);
    assert.notEqual(await ledgers.get('staging.runs'), staging);
    assert.ok(rebuilt.uses() > 0, 'the new ledgers are built on the rebuilt client');
    assert.equal(old.uses(), oldUses, 'and never on the old one');
    assert.equal(await ledgers.get('order-events.runs'), afterClose, 'and the new one is kept');
    await ledgers.close();
  });

  test('closing the ledgers drops them too', async () => {
    const cluster = fakeCluster(kafka);
    const ledgers = createRunLedgers({ cluster: cluster.client, timeoutMs: 1000, logger });
    const first = await ledgers.get('order-events.runs');
    await ledgers.close();
    assert.notEqual(await ledgers.get('order-events.runs'), first);
    await ledgers.close();
  });

  test('a cluster client that cannot connect fails the get with its error; the next get builds the ledger', async () => {
    const cluster = fakeCluster(kafka);
    const ledgers = createRunLedgers({ cluster: cluster.client, timeoutMs: 1000, logger });
    cluster.refuseNext(new Error('brokers unreachable'));
    await assert.rejects(ledgers.get('order-events.runs'), /brokers unreachable/);
    const ledger = await ledgers.get('order-events.runs');
    assert.equal(ledger.topic, 'order-events.runs');
    await ledgers.close();
  });
});
