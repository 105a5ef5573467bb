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
import { producerErrorFromKafkajs } from '../kafka/errors.ts';
import { createHighWatermarks, type HighWatermarks } from '../kafka/high-watermarks.ts';
import { deleteGroup, trackReadProgress, type ReadProgress } from '../kafka/read-progress.ts';

/** A ledger record as read: its partition, offset and value (null: a tombstone). */
export interface LedgerEntry {
  partition: number;
  offset: bigint;
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

interface LedgerReaderDeps {
  kafka: Kafka;
  topic: string;
  /** Bound on one read: reaching the ends, including the consumer's first start. */
  timeoutMs: number;
  logger: Logger;
  /** Told of every record as it is read (the ledger's own checks: placement, order-id blocks). */
  onRecord?: (key: string, entry: LedgerEntry) => void;
}

/** The reader's consumer and what it has read, shared by its steps. */
interface ReaderState {
  readonly deps: LedgerReaderDeps;
  readonly marks: HighWatermarks;
  readonly groupId: string;
  /**
   * The latest entry of every key read. A consumer that kafkajs restarts or rejoins reads the topic
   * from its beginning again (nothing is committed), so an entry is replaced only by a later offset
   * of its partition: a re-read never hands a lookup an older record.
   */
  readonly entries: Map<string, LedgerEntry>;
  consumer: Consumer | undefined;
  progress: ReadProgress | undefined;
  /** The consumer's start, shared by every lookup until it fails. */
  starting: Promise<void> | undefined;
  /** The consumer crashed without restarting: the next lookup starts a new one. */
  broken: boolean;
  /** The consumer's latest crash: what a failed read reports when it is the cause. */
  lastCrash: unknown;
  /** Records skipped as already held since the consumer last started over (logged once per re-read). */
  reread: number;
}

export function createLedgerReader(deps: LedgerReaderDeps): LedgerReader {
  const state: ReaderState = {
    deps,
    marks: createHighWatermarks(deps.kafka),
    groupId: `order-events-ledger-${randomUUID()}`,
    entries: new Map(),
    consumer: undefined,
    progress: undefined,
    starting: undefined,
    broken: false,
    lastCrash: undefined,
    reread: 0,
  };
  return {
    partitionCount: () => state.marks.partitionCount(deps.topic),
    async read(partitions, keys) {
      await readTo(state, partitions);
      const found = new Map<string, LedgerEntry>();
      for (const key of keys) {
        const entry = state.entries.get(key);
        if (entry) found.set(key, entry);
      }
      return found;
    },
    close: () => closeReader(state),
  };
}

/** Starts a consumer that reads the whole topic from its beginning and keeps every key's latest entry. */
async function start(state: ReaderState): Promise<void> {
  const { kafka, topic, logger } = state.deps;
  const { groupId } = state;
  const c = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
  state.consumer = c;
  state.progress = trackReadProgress(c);
  state.broken = false;
  state.lastCrash = undefined;
  c.on(c.events.GROUP_JOIN, () => (state.reread = 0));
  c.on(c.events.CRASH, ({ payload }) => {
    state.lastCrash = payload.error;
    if (payload.restart) return;
    state.broken = true;
    logger.warn('run ledger reader stopped; it restarts at the next lookup', { error: payload.error.message });
  });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      const key = message.key?.toString();
      if (key === undefined) return;
      const entry = { partition, offset: BigInt(message.offset), value: message.value };
      if (!newer(state.entries.get(key), entry)) return skipReread(state, partition, entry.offset);
      state.entries.set(key, entry);
      state.deps.onRecord?.(key, entry);
    },
  });
  logger.debug('run ledger reader started', { topic, groupId });
}

/** A record read again after kafkajs restarted the consumer (it starts over from the beginning). */
function skipReread(state: ReaderState, partition: number, offset: bigint): void {
  if (state.reread++ > 0) return;
  state.deps.logger.info('run ledger reader reading its topic again after a consumer restart; held records kept', {
    topic: state.deps.topic,
    partition,
    offset: String(offset),
  });
}

/** Whether `next` replaces `held`: a key's records live on one partition, where a higher offset is newer. */
function newer(held: LedgerEntry | undefined, next: LedgerEntry): boolean {
  return held === undefined || held.partition !== next.partition || next.offset > held.offset;
}

/** The consumer's start: under way or done, or begun anew after a crash it did not restart from. */
function started(state: ReaderState): Promise<void> {
  if (state.broken && state.consumer) {
    const old = state.consumer;
    state.consumer = undefined;
    state.starting = undefined;
    void old.disconnect().catch(() => undefined);
  }
  state.starting ??= start(state);
  state.starting.catch(() => (state.starting = undefined));
  return state.starting;
}

/** Reads `partitions` (every partition when undefined) up to their ends taken now, within the timeout. */
async function readTo(state: ReaderState, partitions: number[] | undefined): Promise<void> {
  const { topic, timeoutMs } = state.deps;
  const deadline = performance.now() + timeoutMs;
  const left = () => Math.max(1, deadline - performance.now());
  let target: Map<number, number> | undefined;
  try {
    await withTimeout(started(state), left(), `starting the run ledger reader on ${topic}`);
    // The ends (open transactions included) of the partitions asked for, when the lookup began.
    target = await withTimeout(state.marks.ends(topic, partitions), left(), `reading the end offsets of ${topic}`);
    await withTimeout(state.progress!.reached(target), left(), `reading the run ledger ${topic} to its end`);
    state.lastCrash = undefined; // a crash the consumer recovered from says nothing about later reads
  } catch (err) {
    throw readFailure(state, err, target);
  }
}

/** Why a read did not reach `target`, the ends it was after (unknown if it failed before). */
function readFailure(state: ReaderState, err: unknown, target: Map<number, number> | undefined): Error {
  const { topic, timeoutMs } = state.deps;
  // A refusal retrying cannot fix (no read access to the ledger, say) is reported as such.
  const refused = producerErrorFromKafkajs(state.lastCrash ?? err, `reading the run ledger ${topic}`);
  if (!refused.retryable) return refused;
  const why = target && state.progress ? state.progress.behind(target) : refused.message;
  return new LedgerUnavailableError(
    `could not tell whether this run was already produced: the run ledger ${topic} was not read to its end ` +
      `within ${timeoutMs} ms (${why}); an open transaction on that ledger partition or a slow broker holds it back`,
    { cause: err },
  );
}

async function closeReader(state: ReaderState): Promise<void> {
  const c = state.consumer;
  state.consumer = undefined;
  state.starting = undefined;
  await state.marks.close();
  if (!c) return;
  await c.disconnect().catch(() => undefined);
  await deleteGroup(state.deps.kafka, state.groupId);
}
