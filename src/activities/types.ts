// Activity and workflow contract types. Workflow code imports only types from activities (the
// bundler drops them), so no activity code reaches the workflow sandbox.
import type { RunReport } from '../run-ledger/record.ts';

export type { PartitionSummary } from '../run-ledger/record.ts';

export interface ProduceOrderEventsInput {
  eventCount?: number;
  /**
   * The source the run publishes: `generator`, or an outbox source's name (OUTBOX_SOURCE_NAME,
   * `outbox:<table>` by default). A worker set up for another source refuses the run; absent, the
   * run publishes whatever source its worker is set up for.
   */
  source?: string;
}

export interface ProduceEventsInput {
  eventCount: number;
  /** The run's event time: TemporalScheduledStartTime when scheduled, the workflow start time otherwise. */
  nominalTimeMs: number;
  /** The schedule that started the run (TemporalScheduledById); absent for a run started by hand. */
  scheduleId?: string;
  /** The source the run must publish (its workflow input's `source`); absent: the worker's. */
  source?: string;
}

export interface ProduceEventsResult extends RunReport {
  /** The run's nominal time (ISO 8601): the schedule's time for it, or the workflow's start. */
  nominalTime: string;
  /** The run's identity as the run ledger keys it: topic, nominal time and schedule (or workflow id). */
  runKey: string;
  /** True when the run was already produced (by an earlier attempt or execution) and nothing was sent. */
  alreadyCommitted: boolean;
  /** The run's order ids (a RunSource's block); absent for a cursor source, whose events carry their own. */
  firstOrderId?: string;
  lastOrderId?: string;
  /** A cursor source's run: the positions it published between and the lag it left. */
  source?: SourceProgress;
}

export interface SourceProgress {
  name: string;
  /** The position the run started after (null: the source's beginning) and the one it stopped at. */
  from: string | null;
  to: string | null;
  /** Age of the oldest event still waiting in the source after the run, in seconds (null: not read). */
  lagSeconds: number | null;
}

export interface RunSummary extends ProduceEventsResult {
  eventCount: number;
  nominalTime: string;
  /** One readable line for people (the Temporal UI shows it as the run's details). */
  summary: string;
}

/** The worker's settings the workflow needs, read through a local activity (so replay sees the same). */
export interface Limits {
  maxEventCount: number;
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** The following relay's segment length and segments per workflow run (FOLLOW_SEGMENT_MS, FOLLOW_SEGMENTS_PER_RUN). */
  follow: { segmentMs: number; segmentsPerRun: number };
}

/** The following relay's workflow input: the source it follows (absent: its worker's), and the totals so far. */
export interface FollowOutboxInput {
  source?: string;
  /** Carried across continue-as-new: what earlier runs of this follower published. */
  totals?: FollowTotals;
}

export interface FollowTotals {
  commits: number;
  rows: number;
  deadLettered: number;
  /** Workflow runs so far (continue-as-new), this one included. */
  runs: number;
  /** When the follower started (ISO 8601). */
  since: string;
}

export interface FollowInput {
  source?: string;
}

/** One segment of the following relay: what it committed and where it stopped. */
export interface FollowSegment {
  commits: number;
  rows: number;
  deadLettered: number;
  /** The last position committed (null: none yet). */
  position: string | null;
  lagSeconds: number;
  /** WAL not yet published, in bytes. */
  lagBytes: number;
  /** The segment ended because it was cancelled (its open batch aborted). */
  stopped?: boolean;
}

export interface FollowSummary extends FollowTotals {
  /** The follower was stopped (cancelled): every batch it committed is published, nothing else is confirmed. */
  stopped: boolean;
  position: string | null;
  summary: string;
}
