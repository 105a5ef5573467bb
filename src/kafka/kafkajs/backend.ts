// The kafkajs backend (the default): each transaction is a kafkajs producer on the shared
// client's connection settings (TLS, SASL, retries, logs routed into ours).
import type { ProducerBackend, ProducerDeps } from '../backend.ts';
import type { ClusterClient } from '../cluster-client.ts';
import { openTransaction } from './transaction.ts';

export function kafkajsBackend(deps: ProducerDeps, shared: ClusterClient): ProducerBackend {
  return {
    name: 'kafkajs',
    ready: async () => undefined,
    open: async (options) => openTransaction((await shared.get()).kafka, deps.config, options, deps.logger),
  };
}
