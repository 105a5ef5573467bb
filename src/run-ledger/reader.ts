// A warm reader of the run ledger: one read_committed consumer per worker process tails the ledger
// topic and keeps the latest record of every key in memory, so a lookup costs one ListOffsets
// round trip instead of a consumer-group join and a full read per run.
//
// It fails closed, per partition: a lookup fetches the end offsets (high watermarks, open
// transactions included) of the partitions its keys live on, after the caller fenced every
// earlier producer of its run, then waits until the consumer has read up to them. An open
// transaction on one of those partitions holds the read back (read_committed stops at the last
// stable offset), so a committed record behind it is never missed: the lookup waits, and if the
// wait runs out it throws a retryable LedgerUnavailableError. An open transaction on any other
// partition delays nothing. It never answers "not produced" from a partial read.
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { LedgerUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { withTimeout } from '../timeout.ts';
import { toProducerError } from '../kafka/errors.ts';
import { createHighWatermarks } from '../kafka/high-watermarks.ts';
import { deleteGroup, trackReadProgress, type ReadProgress } from '../kafka/read-progress.ts';

/** A ledger record as read: its partition and value (null: a tombstone). */
export interface LedgerEntry {
  partition: number;
  value: Buffer | null;
}

export interface LedgerReader {
  /** The ledger topic's partition count now. */
  partitionCount(): Promise<number>;
  /**
   * Reads `partitions` (every partition when undefined) up to their end (taken now), then returns
   * the entries held for `keys`. Throws LedgerUnavailableError when that cannot be done within
   * the reader's timeout.
   */
  read(partitions: number[] | undefined, keys: string[]): Promise<Map<string, LedgerEntry>>;
  close(): Promise<void>;
}

export interface LedgerReaderDeps {
  kafka: Kafka;
  topic: string;
  /** Bound on one read: reaching the ends, including the consumer's first start. */
  timeoutMs: number;
  logger: Logger;
  /** Told of every record as it is read (the ledger's own checks: placement, order-id blocks). */
  onRecord?: (key: string, entry: LedgerEntry) => void;
}

export function createLedgerReader(deps: LedgerReaderDeps): LedgerReader {
  const { kafka, topic, timeoutMs, logger } = deps;
  const marks = createHighWatermarks(kafka);
  const groupId = `order-events-ledger-${randomUUID()}`;
  const entries = new Map<string, LedgerEntry>();
  let consumer: Consumer | undefined;
  let progress: ReadProgress | undefined;
  let starting: Promise<void> | undefined;
  let broken = false;
  let lastCrash: unknown;

  async function start(): Promise<void> {
    const c = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
    consumer = c;
    progress = trackReadProgress(c);
    broken = false;
    lastCrash = undefined;
    c.on(c.events.CRASH, ({ payload }) => {
      lastCrash = payload.error;
      if (payload.restart) return;
      broken = true;
      logger.warn('run ledger reader stopped; it restarts at the next lookup', { error: payload.error.message });
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        const key = message.key?.toString();
        if (key === undefined) return;
        const entry = { partition, value: message.value };
        entries.set(key, entry);
        deps.onRecord?.(key, entry);
      },
    });
    logger.debug('run ledger reader started', { topic, groupId });
  }

  function started(): Promise<void> {
    if (broken && consumer) {
      const old = consumer;
      consumer = undefined;
      starting = undefined;
      void old.disconnect().catch(() => undefined);
    }
    starting ??= start();
    starting.catch(() => (starting = undefined));
    return starting;
  }

  async function readTo(partitions: number[] | undefined): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    let target: Map<number, number> | undefined;
    try {
      await withTimeout(started(), left(), `starting the run ledger reader on ${topic}`);
      // The ends (open transactions included) of the partitions asked for, when the lookup began.
      target = await withTimeout(marks.ends(topic, partitions), left(), `reading the end offsets of ${topic}`);
      await withTimeout(progress!.reached(target), left(), `reading the run ledger ${topic} to its end`);
      lastCrash = undefined; // a crash the consumer recovered from says nothing about later reads
    } catch (err) {
      // A refusal retrying cannot fix (no read access to the ledger, say) is reported as such.
      const refused = toProducerError(lastCrash ?? err, `reading the run ledger ${topic}`);
      if (!refused.retryable) throw refused;
      const why = target && progress ? progress.behind(target) : refused.message;
      throw new LedgerUnavailableError(
        `could not tell whether this run was already produced: the run ledger ${topic} was not read to its end ` +
          `within ${timeoutMs} ms (${why}); an open transaction on that ledger partition or a slow broker holds it back`,
        { cause: err },
      );
    }
  }

  return {
    partitionCount: () => marks.partitionCount(topic),
    async read(partitions, keys) {
      await readTo(partitions);
      const found = new Map<string, LedgerEntry>();
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry) found.set(key, entry);
      }
      return found;
    },

    async close() {
      const c = consumer;
      consumer = undefined;
      starting = undefined;
      await marks.close();
      if (!c) return;
      await c.disconnect().catch(() => undefined);
      await deleteGroup(kafka, groupId);
    },
  };
}
