// A warm index of the run ledger: one read_committed consumer per worker process tails the ledger
// topic and keeps the latest record of every slot in memory, so a lookup costs one ListOffsets
// round trip instead of a consumer-group join and a full read per run.
//
// It fails closed: a lookup first fetches the ledger's end offsets (after the caller fenced every
// earlier producer of its slot), then waits until the consumer has read up to them. An open
// transaction on the ledger holds the read back (read_committed stops at the last stable
// offset), so a committed record behind it is never missed: the lookup waits, and if the wait
// runs out it throws a retryable LedgerUnavailableError. It never answers "not produced" from a
// partial read.
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { LedgerUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { decodeLedgerRecord, type LedgerRecord, type RunLedger } from '../run-ledger.ts';
import { withTimeout } from '../timeout.ts';
import { toProducerError } from './errors.ts';
import { createHighWatermarks } from './high-watermarks.ts';
import { deleteGroup, trackReadProgress, type ReadProgress } from './read-progress.ts';

export interface LedgerIndex extends RunLedger {
  close(): Promise<void>;
}

export interface LedgerIndexDeps {
  kafka: Kafka;
  topic: string;
  /** Bound on one lookup: reaching the ledger's end, including the consumer's first start. */
  timeoutMs: number;
  logger: Logger;
}

export function createLedgerIndex(deps: LedgerIndexDeps): LedgerIndex {
  const { kafka, topic, timeoutMs, logger } = deps;
  const marks = createHighWatermarks(kafka);
  const groupId = `order-events-ledger-${randomUUID()}`;
  const entries = new Map<string, Buffer | null>();
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
      eachMessage: async ({ message }) => {
        const key = message.key?.toString();
        if (key !== undefined) entries.set(key, message.value);
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

  async function lookup(key: string): Promise<LedgerRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    let target: Map<number, number> | undefined;
    try {
      await withTimeout(started(), left(), `starting the run ledger reader on ${topic}`);
      // The ledger's end (open transactions included) when the lookup began.
      target = await withTimeout(marks.ends(topic), left(), `reading the end offsets of ${topic}`);
      await withTimeout(progress!.reached(target), left(), `reading the run ledger ${topic} to its end`);
    } catch (err) {
      // A refusal retrying cannot fix (no read access to the ledger, say) is reported as such.
      const refused = toProducerError(lastCrash ?? err, `reading the run ledger ${topic}`);
      if (!refused.retryable) throw refused;
      const why = target && progress ? progress.behind(target) : refused.message;
      throw new LedgerUnavailableError(
        `could not tell whether this slot was already produced: the run ledger ${topic} was not read to its end ` +
          `within ${timeoutMs} ms (${why}); an open transaction on the ledger or a slow broker holds it back`,
        { cause: err },
      );
    }
    const value = entries.get(key);
    return value ? decodeLedgerRecord(key, value) : undefined;
  }

  return {
    lookup,
    async warm() {
      await lookup('');
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
