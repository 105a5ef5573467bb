// Sending on the librdkafka backend: each record goes to librdkafka's queue (it batches,
// compresses and sends on its own threads); a send waits, bounded, only while that queue is full.
import type { LibrdKafkaError, Producer } from '@confluentinc/kafka-javascript';
import { OperationTimeoutError } from '../../errors.ts';
import type { OutgoingMessage, PartitionAck, ProducerTransaction, TopicBatch } from '../backend.ts';
import type { RdKafkaModule } from './load.ts';

/** What sending needs of the open transaction. */
interface SendContext {
  producer: Producer;
  /** How long a send may wait on a full queue (stallBoundMs). */
  stallMs: number;
  /** Throws when librdkafka already reported a record failed (the transaction cannot commit). */
  throwIfRecordFailed: (what: string) => void;
  /** Maps a failed call onto our errors (see describeFailure). */
  fail: (err: unknown, what: string) => Error;
}

type HeaderList = { [key: string]: string }[];

/** The sender's state: the transaction's context, librdkafka's queue-full code and the header cache. */
interface RecordQueue extends SendContext {
  queueFullCode: number;
  headerList: (h: Record<string, string> | undefined) => HeaderList | undefined;
}

export function sender(rd: RdKafkaModule, ctx: SendContext): ProducerTransaction {
  const queue: RecordQueue = { ...ctx, queueFullCode: rd.CODES.ERRORS.ERR__QUEUE_FULL, headerList: headerListCache() };
  return {
    async send(batches: TopicBatch[]) {
      queue.throwIfRecordFailed('sending records');
      const deadline = performance.now() + queue.stallMs;
      const acks: PartitionAck[] = [];
      for (const { topic, messages } of batches) {
        const seen: boolean[] = [];
        for (const m of messages) {
          try {
            queueRecord(queue, topic, m);
          } catch {
            await queueRecordWhenRoom(queue, topic, m, deadline);
          }
          if (!seen[m.partition]) {
            seen[m.partition] = true;
            acks.push({ topic, partition: m.partition, baseOffset: null });
          }
        }
      }
      // Queueing never waits on I/O: yield once per batch so timers (heartbeats) keep firing.
      await new Promise((resolve) => setImmediate(resolve));
      return acks;
    },
  };
}

/** librdkafka takes headers as a list of one-entry objects; a run's records share one. */
function headerListCache(): RecordQueue['headerList'] {
  let lastHeaders: Record<string, string> | undefined;
  let lastList: HeaderList | undefined;
  return (h) => {
    if (h === undefined) return undefined;
    if (h !== lastHeaders) {
      lastHeaders = h;
      lastList = Object.entries(h).map(([k, v]) => ({ [k]: v }));
    }
    return lastList;
  };
}

/** Hands one record to librdkafka's queue; throws when it cannot (ERR__QUEUE_FULL among others). */
function queueRecord(queue: RecordQueue, topic: string, m: OutgoingMessage): void {
  queue.producer.produce(
    topic,
    m.partition,
    m.value,
    m.key,
    m.timestamp === undefined ? null : Number(m.timestamp),
    undefined,
    queue.headerList(m.headers),
  );
}

/** Hands one record to librdkafka, waiting (bounded) while its queue is full. */
async function queueRecordWhenRoom(
  queue: RecordQueue,
  topic: string,
  m: OutgoingMessage,
  deadline: number,
): Promise<void> {
  for (;;) {
    try {
      queueRecord(queue, topic, m);
      return;
    } catch (err) {
      if ((err as LibrdKafkaError).code !== queue.queueFullCode) throw queue.fail(err, `sending to ${topic}`);
      queue.throwIfRecordFailed(`sending to ${topic}`);
      if (performance.now() > deadline) {
        throw new OperationTimeoutError(
          `sending to ${topic}: librdkafka's queue stayed full for ${queue.stallMs} ms (the broker is not taking records)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}
