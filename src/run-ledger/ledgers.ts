// One warm run ledger per ledger topic and process, read through the cluster client's kafkajs
// client: built on first use, and dropped (its reader closed) whenever that client is rebuilt.
import type { ClusterClient } from '../kafka/cluster-client.ts';
import type { Logger } from '../logger.ts';
import { createRunLedger, type RunLedger } from './index.ts';

export interface RunLedgers {
  /** The warm run ledger on `topic` (fails closed). */
  get(topic: string): Promise<RunLedger>;
  close(): Promise<void>;
}

export function createRunLedgers(deps: {
  cluster: Pick<ClusterClient, 'get' | 'onClose' | 'retentionMs'>;
  /** KAFKA_LEDGER_TIMEOUT_MS: the bound on reading a ledger partition to its end. */
  timeoutMs: number;
  logger: Logger;
}): RunLedgers {
  const { cluster } = deps;
  const ledgers = new Map<string, RunLedger>();
  const close = async () => {
    const open = [...ledgers.values()];
    ledgers.clear();
    await Promise.allSettled(open.map((l) => l.close()));
  };
  cluster.onClose(close);
  return {
    async get(topic) {
      const { kafka } = await cluster.get();
      let ledger = ledgers.get(topic);
      if (!ledger) {
        ledger = createRunLedger({
          kafka,
          topic,
          timeoutMs: deps.timeoutMs,
          logger: deps.logger,
          retentionMs: () => cluster.retentionMs(topic),
        });
        ledgers.set(topic, ledger);
      }
      return ledger;
    },
    close,
  };
}
