// What the engine is asked and what it answers: one request and one outcome for every source.
import type { RunAttempt } from '../dlq/envelope.ts';
import type { RunOrigin, RunReport } from '../run-ledger/index.ts';
import type { EventSource } from '../sources/contract.ts';

export interface RunRequest {
  /** Where the events come from: a RunSource's run is keyed by its identity, a CursorSource's by its position. */
  source: EventSource;
  /** A RunSource's event count; the most a CursorSource's run publishes (the rest waits for the next run). */
  eventCount: number;
  /** The run's nominal time: a RunSource's event time and identity; recorded and logged for a CursorSource. */
  nominalTimeMs: number;
  /** Who started the run (a schedule, or a workflow by hand): part of a RunSource's identity. */
  origin?: RunOrigin;
  run: RunAttempt & { attempt: number };
  /** The transaction's timeout: at least as long as the attempt may run. */
  transactionTimeoutMs: number;
  /** Called after each batch the broker acknowledged, with the running counts. */
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  /** Checked when the transaction is open and before the commit: a cancelled run aborts instead of committing. */
  throwIfCancelled?: () => void;
  /** The `events produced` line at debug level (a following relay's batches, several a second). */
  quiet?: boolean;
}

/** A cursor source's run: the positions it published between and the lag it left. */
export interface SourceProgress {
  name: string;
  /** The position the run started after (null: the source's beginning) and the one it stopped at. */
  from: string | null;
  to: string | null;
  /** Age of the oldest event still waiting in the source after the run, in seconds (null: not read). */
  lagSeconds: number | null;
}

export interface RunOutcome {
  /** `already-committed`: an earlier attempt or execution produced the run, and nothing was sent. */
  status: 'produced' | 'already-committed';
  /** The run's key in the ledger: its identity, or its source's position chain. */
  key: string;
  /** What the run produced (from its ledger record when already produced). */
  report: RunReport;
  /** Who produced it, when it was already produced. */
  producedBy?: string;
  /** A RunSource's order ids. */
  firstOrderId?: string;
  lastOrderId?: string;
  /** A CursorSource's positions and lag. */
  source?: SourceProgress;
}
