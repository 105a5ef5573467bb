// The followOutbox activity: one segment of the following relay. It streams the outbox's slot
// and commits a batch at a time through the engine (each batch one Kafka transaction with its
// position), heartbeating its position, rate and lag so the Temporal UI shows them. A segment ends
// after FOLLOW_SEGMENT_MS at a batch boundary; the workflow starts the next one (the stream stays
// open in this process meanwhile). Cancelled (the workflow cancelled, the worker shutting down), it
// aborts the open batch: nothing it did not commit is confirmed.
import { Context } from '@temporalio/activity';
import type { RunOutcome, RunRequest } from '../engine/index.ts';
import { ConfigError, InvalidInputError, SourceMismatchError } from '../errors.ts';
import type { OutboxFollower } from '../sources/outbox/follow.ts';
import type { FollowInput, FollowSegment } from './types.ts';

export interface FollowDeps {
  produceRun(request: RunRequest): Promise<RunOutcome>;
  /** A follower for a workflow (absent: this worker publishes the generator, which has nothing to follow). */
  follower?: (workflowId: string) => OutboxFollower;
  /** The source this worker publishes. */
  sourceName: string;
  follow: { commitEveryRows: number; segmentMs: number; walHeartbeatMs: number };
  /** The follower's WAL lag, into the gauge. */
  lagBytes?: (source: string, bytes: number) => void;
  /** Aborted when the worker starts shutting down (Ctrl-C): a segment ends at its next batch boundary. */
  stopping?: AbortSignal;
}

/** How long an unused follower keeps its stream open between segments. */
const IDLE_CLOSE_MS = 60_000;

interface Held {
  follower: OutboxFollower;
  busy: boolean;
  idle?: NodeJS.Timeout;
}

export function followActivity(deps: FollowDeps) {
  const held = new Map<string, Held>();
  const take = (workflowId: string, make: (id: string) => OutboxFollower): Held => {
    let h = held.get(workflowId);
    if (!h || h.busy) {
      h = { follower: make(workflowId), busy: false };
      held.set(workflowId, h);
    }
    clearTimeout(h.idle);
    h.busy = true;
    return h;
  };
  const release = (workflowId: string, h: Held, keep: boolean) => {
    h.busy = false;
    if (keep) {
      h.idle = setTimeout(() => void drop(workflowId, h), IDLE_CLOSE_MS);
      h.idle.unref();
    } else void drop(workflowId, h);
  };
  const drop = async (workflowId: string, h: Held) => {
    if (held.get(workflowId) === h) held.delete(workflowId);
    await h.follower.close();
  };

  return async function followOutbox(input: FollowInput): Promise<FollowSegment> {
    const ctx = Context.current();
    const { workflowExecution } = ctx.info;
    if (!workflowExecution) throw new InvalidInputError('followOutbox runs inside a workflow only');
    checkFollowable(deps, input);
    const h = take(workflowExecution.workflowId, deps.follower!);
    let ok = false;
    try {
      const segment = await followSegment(deps, ctx, h.follower);
      // A segment that ended on time keeps its stream for the next; a stopped one (cancelled, the
      // worker shutting down) closes it, so the slot is free and the process can exit.
      ok = !segment.stopped;
      return segment;
    } finally {
      release(workflowExecution.workflowId, h, ok);
    }
  };
}

function checkFollowable(deps: FollowDeps, input: FollowInput): void {
  if (!deps.follower) {
    throw new ConfigError(
      `this worker publishes source ${deps.sourceName}, which has nothing to follow: the following relay needs a ` +
        `worker with EVENT_SOURCE=outbox`,
    );
  }
  if (input?.source !== undefined && input.source !== deps.sourceName) {
    throw new SourceMismatchError(
      `the follower asks for source ${input.source}, but this worker publishes source ${deps.sourceName} ` +
        `(EVENT_SOURCE, OUTBOX_TABLE, OUTBOX_SOURCE_NAME): nothing was sent. Give each source its own task queue`,
    );
  }
}

async function followSegment(deps: FollowDeps, ctx: Context, f: OutboxFollower): Promise<FollowSegment> {
  const { workflowExecution, attempt } = ctx.info;
  const started = Date.now();
  const until = started + deps.follow.segmentMs;
  const carried = carriedTotals(ctx.info.heartbeatDetails);
  const seg: FollowSegment = { ...carried, position: null, lagSeconds: 0, lagBytes: 0 };
  const rate = () => Math.round((seg.rows - carried.rows) / Math.max(1, (Date.now() - started) / 1000));
  const details = () => ({ ...seg, rowsPerSecond: rate() });
  const throwIfCancelled = () => {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
  };
  let lastBeat = 0;
  let first = true;
  ctx.heartbeat(details());
  const every = Math.max(200, Math.floor((ctx.info.heartbeatTimeoutMs ?? 60_000) / 4));
  const timer = setInterval(() => ctx.heartbeat(details()), every);
  try {
    while (Date.now() < until && !deps.stopping?.aborted) {
      throwIfCancelled();
      if (Date.now() - lastBeat >= deps.follow.walHeartbeatMs) {
        await f.beat();
        lastBeat = Date.now();
      }
      // The first batch opens the stream at the ledger's position; later ones wait for a change.
      const wait = Math.min(1000, until - Date.now(), lastBeat + deps.follow.walHeartbeatMs - Date.now());
      if (!first && !(await f.waitForChanges(Math.max(0, wait)))) continue;
      first = false;
      const outcome = await deps.produceRun({
        source: f.source,
        eventCount: deps.follow.commitEveryRows,
        nominalTimeMs: Date.now(),
        run: { workflowId: workflowExecution!.workflowId, runId: workflowExecution!.runId, attempt },
        transactionTimeoutMs: 60_000,
        throwIfCancelled,
        quiet: true,
      });
      seg.commits++;
      seg.rows += outcome.report.acknowledged;
      seg.deadLettered += outcome.report.deadLettered;
      const stats = await f.stats();
      Object.assign(seg, { position: stats.position, lagSeconds: stats.lagSeconds, lagBytes: stats.lagBytes });
      deps.lagBytes?.(f.source.name, stats.lagBytes);
      ctx.heartbeat(details());
    }
    // The worker is shutting down: the segment ends between batches, and the workflow's next one
    // runs on another worker (or this one restarted).
    return deps.stopping?.aborted ? { ...seg, stopped: true } : seg;
  } catch (err) {
    // Cancelled (the workflow stopped, the worker shutting down): the open batch was aborted and
    // nothing of it confirmed; what the segment committed is its result.
    if (ctx.cancellationSignal.aborted) return { ...seg, stopped: true };
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A retried segment (its worker lost: killed, frozen past the heartbeat timeout) goes on from the
 * totals its lost attempt last heartbeated, so the workflow's summary keeps what that attempt
 * committed up to then. Rows it committed after its last heartbeat reached the server (at most
 * 80% of the heartbeat timeout's worth) are published but not counted.
 */
function carriedTotals(details: unknown): Pick<FollowSegment, 'commits' | 'rows' | 'deadLettered'> {
  const d = (typeof details === 'object' && details !== null ? details : {}) as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  return { commits: count(d['commits']), rows: count(d['rows']), deadLettered: count(d['deadLettered']) };
}
