// The librdkafka backend (KAFKA_CLIENT=librdkafka): each transaction is a librdkafka producer,
// built from the Kafka secret as it is cached now (a rotation re-reads it). Topic metadata and the
// run ledger stay on the shared kafkajs client (src/kafka/cluster-client.ts).
import type { ProducerBackend, ProducerDeps } from '../backend.ts';
import { loadLibrdkafka } from './load.ts';
import { openTransaction } from './transaction.ts';

export function librdkafkaBackend(deps: ProducerDeps): ProducerBackend {
  const { config, credentials, logger } = deps;
  const closing = new Set<Promise<void>>();
  const track = (c: Promise<void>) => {
    closing.add(c);
    void c.finally(() => closing.delete(c));
  };
  return {
    name: 'librdkafka',
    ready: async () => {
      await loadLibrdkafka();
    },
    open: async (options) =>
      openTransaction(await loadLibrdkafka(), await credentials.kafka(), config, options, logger, track),
    close: async () => {
      await Promise.allSettled([...closing]);
    },
  };
}
