// How far a read_committed consumer has read each partition: every offset below its position
// (records, aborted data, transaction markers) has been seen. The fail-closed readers (the run
// ledger reader, readTopic) wait for it to reach the end offsets they fetched first.
import type { Consumer, Kafka } from 'kafkajs';

export interface ReadProgress {
  /** Resolves once every partition of `target` is read up to its offset. */
  reached(target: Map<number, number>): Promise<void>;
  /** The partitions still short of `target`, for an error message. */
  behind(target: Map<number, number>): string;
}

export function trackReadProgress(consumer: Consumer): ReadProgress {
  const position = new Map<number, number>();
  const at = (partition: number) => position.get(partition) ?? 0;
  let waiters: { done: () => boolean; resolve: () => void }[] = [];
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    position.set(payload.partition, Math.max(at(payload.partition), Number(payload.lastOffset) + 1));
    waiters = waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  });
  return {
    reached(target) {
      const done = () => [...target].every(([p, end]) => at(p) >= end);
      if (done()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ done, resolve }));
    },
    behind(target) {
      return [...target]
        .filter(([p, end]) => at(p) < end)
        .map(([p, end]) => `partition ${p} read to ${at(p)} of ${end}`)
        .join(', ');
    },
  };
}

/** Deletes a throwaway consumer group; best effort (an empty group expires by itself). */
export async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin
    .connect()
    .then(() => admin.deleteGroups([groupId]))
    .catch(() => undefined)
    .finally(() => admin.disconnect().catch(() => undefined));
}
