// Reads a topic back from the beginning (read_committed): for the dlq and verify commands and
// the run ledger.
import type { Kafka } from 'kafkajs';

export interface ReadRecord {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
}

/**
 * Reads a topic from the beginning with read_committed isolation until it has been idle for
 * `idleMs` (or `timeoutMs` passed), with a throwaway consumer group.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: { idleMs?: number; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const groupId = `order-events-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 10_000, maxWaitTimeInMs: 250 });
  const records: ReadRecord[] = [];
  const idleMs = opts.idleMs ?? 1500;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let last = Date.now();
    let fetches = 0;
    // Idle is measured from the first fetch after joining, and needs a second fetch to be sure.
    consumer.on(consumer.events.FETCH, () => {
      if (fetches++ === 0) last = Date.now();
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        last = Date.now();
        records.push({
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          key: message.key?.toString() ?? null,
          value: message.value,
        });
      },
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    while (Date.now() < deadline && !(fetches >= 2 && Date.now() - last >= idleMs)) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
  return records;
}
