// Unit test of kafkajs's consumer fetch manager (kafkajs/src/consumer/fetchManager) as our patch
// (patches/kafkajs+2.2.4.patch) leaves it, on kafkajs's own code: a stop during a fetcher rebuild
// starts no new fetcher (the run ledger's warm reader, src/run-ledger/reader.ts, spun the worker
// at 100% CPU without it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafkajsModule, quietKafkajsLogger as quiet } from './support/kafkajs-internals.ts';

describe('kafkajs consumer: a stop during a fetcher rebuild (patches/kafkajs+2.2.4.patch)', () => {
  const createFetchManager =
    kafkajsModule<(o: object) => { start(): Promise<void>; stop(): Promise<void> }>('consumer/fetchManager');

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
