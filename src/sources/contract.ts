// Where a run's events come from. A source is chosen by one setting (EVENT_SOURCE) and must let
// the engine publish every event exactly once, whatever fails. There are two ways to do that, and
// a source takes exactly one of them (docs/event-sources.md):
//
//   RunSource     the events are a pure function of the run: the same nominal time, count and order-id
//                 block give the same events in every attempt and execution. The run ledger keys
//                 the run by its identity, so a second attempt finds it produced and sends nothing.
//                 The tutorial's generator (generator.ts) is one.
//   CursorSource  the events are whatever the source holds after a position. Each run reads from
//                 the position the last committed run recorded, up to a position it chooses, and
//                 records that position in the ledger record of its own Kafka transaction: the
//                 events and the position commit together or not at all. Runs of one source are
//                 fenced by the source (one transactional id per source), not by the run, so two
//                 runs at once never publish the same event. The PostgreSQL outbox (outbox/) is one.

import type { DeadLetterFailure } from '../dlq/envelope.ts';

/** What a RunSource is asked for: derived from the run, never from the attempt's clock. */
export interface RunSourceInput {
  nominalTimeMs: number;
  eventCount: number;
  /** The run's own block of order ids (src/run-ledger/identity.ts orderIdBase). */
  firstOrderId: bigint;
}

export interface RunSource {
  readonly kind: 'run';
  /** For logs and the run's result. */
  readonly name: string;
  /** The run's events, generated afresh for each try; the same input gives the same events. */
  events(input: RunSourceInput): Iterable<unknown> | AsyncIterable<unknown>;
}

/**
 * A source position: an opaque string the source writes and reads back. The engine stores it in
 * the ledger and hands it back unchanged; `undefined` is "nothing published yet".
 */
export type SourcePosition = string;

/** One run's read of a CursorSource. */
export interface CursorRead {
  /** The events after `from`, in the source's order, at most the run's maximum. */
  events: AsyncIterable<unknown>;
  /** After the events were consumed: the position of the last one (or `from` when there were none). */
  position: () => SourcePosition | undefined;
  /** How the source names `event` (an outbox row's id), for its dead letter; undefined when unknown. */
  idOf: (event: unknown) => string | undefined;
  /**
   * Why `event` cannot be sent as it is, when the source already knows (a row too large to fetch
   * whole, a time that is not a time): it goes to the dead-letter topic with this reason.
   */
  problemOf: (event: unknown) => DeadLetterFailure | undefined;
}

/** What one run may read. */
export interface ReadLimits {
  /** The most events this run publishes. */
  maxEvents: number;
  /** The largest record the events topic takes: a larger event is not fetched whole (see problemOf). */
  maxEventBytes: number;
}

/** How far behind a cursor source is. */
export interface SourceLag {
  /** Seconds since the oldest event still waiting was written: 0 when none waits. */
  seconds: number;
  /** What holds the waiting events back, when the source can tell (an open transaction's pid and age). */
  heldBy?: string;
}

export interface CursorSource {
  readonly kind: 'cursor';
  /**
   * The source's stable identity: the key of its position chain in the run ledger and its fencing
   * identity. Two deployments that name the same data must use the same name.
   */
  readonly name: string;
  /**
   * Called before the run's transaction opens (and so before it fences anyone): throws when the
   * source must not be read by this run now (a following relay streams it).
   */
  prepare?(): Promise<void>;
  /**
   * Reads the events after `from`, at most `max`, up to a horizon chosen now: nothing that can still
   * appear at or before the returned position (a transaction committing late) may be left behind.
   */
  read(from: SourcePosition | undefined, limits: ReadLimits): Promise<CursorRead>;
  /**
   * How far behind the source is after `position`; with no position, after the last one the source
   * was told of (`committed`), so a run that failed before it read the ledger still reports its lag.
   */
  lag(position: SourcePosition | undefined): Promise<SourceLag>;
  /**
   * Called before a run starts from the beginning (no position in the ledger): throws when the source
   * knows it was published from before, so a lost ledger record never republishes everything.
   */
  checkFirstRun(): Promise<void>;
  /** Told after a run committed (best effort; the ledger stays the truth). */
  committed(position: SourcePosition | undefined): Promise<void>;
  close(): Promise<void>;
}

export type EventSource = RunSource | CursorSource;
