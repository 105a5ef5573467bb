// Reads a topic back from the beginning (read_committed): for the dlq and verify commands and the
// tests. It reads up to the end offsets it fetched first and fails when it cannot get there in
// time (an open transaction holds read_committed readers back), so an answer is never partial.
import type { Kafka } from 'kafkajs';
import { OperationTimeoutError } from '../errors.ts';
import { withTimeout } from '../timeout.ts';
import { createHighWatermarks } from './high-watermarks.ts';
import { deleteGroup, trackReadProgress } from './read-progress.ts';
import { registerSnappyCodec } from './snappy-codec.ts';

export interface ReadRecord {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
  /** Record headers as text (e.g. `traceparent`). */
  headers: Record<string, string>;
}

async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const marks = createHighWatermarks(kafka);
  try {
    return await marks.ends(topic);
  } finally {
    await marks.close();
  }
}

/** Every committed record of `topic`, up to its end when the read began, with a throwaway consumer group. */
export async function readTopic(kafka: Kafka, topic: string, opts: { timeoutMs?: number } = {}): Promise<ReadRecord[]> {
  registerSnappyCodec();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const target = await withTimeout(endOffsets(kafka, topic), timeoutMs, `reading the end offsets of ${topic}`);
  if (target.size === 0) return [];
  const groupId = `order-events-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 10_000, maxWaitTimeInMs: 250 });
  // By partition and offset: after a restart (below) the consumer reads from the beginning again
  // (nothing is committed), and a record read twice must count once; two records with the same
  // key and value at different offsets stay two.
  const records = new Map<string, ReadRecord>();
  const progress = trackReadProgress(consumer);
  // kafkajs restarts the consumer itself after a retriable crash (a coordinator still loading).
  const crashed = new Promise<never>((_, reject) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) reject(payload.error);
    }),
  );
  crashed.catch(() => undefined); // surfaced by the race below, not as an unhandled rejection
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset >= (target.get(partition) ?? 0)) return; // written after the read began
        const at = `${partition}:${message.offset}`;
        if (records.has(at)) return;
        records.set(at, {
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : String(v)]),
          ),
        });
      },
    });
    const done = Promise.race([progress.reached(target), crashed]);
    await withTimeout(done, timeoutMs, `reading ${topic} to its end`).catch((err: Error) => {
      if (!(err instanceof OperationTimeoutError)) throw err;
      const behind = progress.behind(target);
      throw new Error(`${err.message} (${behind}; an open transaction holds read_committed readers back)`, {
        cause: err,
      });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await deleteGroup(kafka, groupId);
  }
  return [...records.values()];
}
