// The produceEvents activity, made by a factory over narrow dependencies: the worker passes the
// long-lived engine; tests pass the same engine, wrapped to inject faults, or fakes.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ConfigError, InvalidInputError, ProducerError, SourceMismatchError, errorMessage } from '../errors.ts';
import type { RunOutcome, RunRequest } from '../engine/index.ts';
import { originOf, slotTime } from '../run-ledger/index.ts';
import type { EventSource } from '../sources/contract.ts';
import { followActivity, type FollowDeps } from './follow.ts';
import type { FollowInput, FollowSegment, Limits, ProduceEventsInput, ProduceEventsResult } from './types.ts';

export interface ActivityDeps {
  /** The engine: fences the run (or its source), consults the run ledger, and produces the run at most once. */
  produceRun(request: RunRequest): Promise<RunOutcome>;
  /** Where the events come from (EVENT_SOURCE, chosen in src/sources/index.ts). */
  source: EventSource;
  config: {
    maxEventCount: number;
    activity: { startToCloseTimeoutMs: number; heartbeatTimeoutMs: number };
    /** The longest transaction the broker allows (transaction.max.timeout.ms). */
    transactionMaxTimeoutMs: number;
    /** The following relay (FOLLOW_*). */
    follow: FollowDeps['follow'] & { segmentsPerRun: number };
  };
  /** The following relay's follower for a workflow (an outbox worker only). */
  follower?: FollowDeps['follower'];
  /** The following relay's WAL lag gauge. */
  lagBytes?: FollowDeps['lagBytes'];
  /** Aborted when the worker starts shutting down. */
  stopping?: AbortSignal;
}

/** The activities; the workflow's proxies are typed from this factory's return type. */
export function createActivities(deps: ActivityDeps) {
  const followConfig = deps.config.follow;
  const follow = followActivity({
    produceRun: (request) => deps.produceRun(request),
    ...(deps.follower ? { follower: deps.follower } : {}),
    ...(deps.lagBytes ? { lagBytes: deps.lagBytes } : {}),
    ...(deps.stopping ? { stopping: deps.stopping } : {}),
    sourceName: deps.source.name,
    follow: followConfig,
  });
  return {
    async limits(): Promise<Limits> {
      const { segmentMs, segmentsPerRun } = followConfig;
      return {
        maxEventCount: deps.config.maxEventCount,
        ...deps.config.activity,
        follow: { segmentMs, segmentsPerRun },
      };
    },

    async followOutbox(input: FollowInput): Promise<FollowSegment> {
      try {
        return await follow(input);
      } catch (err) {
        throw toFailure(err, Context.current());
      }
    },

    async produceEvents(input: ProduceEventsInput): Promise<ProduceEventsResult> {
      const ctx = Context.current();
      // Heartbeat on a timer from the first line: a slow registry, ledger read or commit must not
      // look like a dead worker. A frozen or killed process stops heartbeating and is replaced.
      const progress = { acknowledged: 0, deadLettered: 0 };
      ctx.heartbeat(progress);
      const every = Math.max(200, Math.floor((ctx.info.heartbeatTimeoutMs ?? 60_000) / 4));
      const timer = setInterval(() => ctx.heartbeat(progress), every);
      try {
        return await produce(deps, ctx, input, progress);
      } catch (err) {
        throw toFailure(err, ctx);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

async function produce(
  deps: ActivityDeps,
  ctx: Context,
  input: ProduceEventsInput,
  progress: { acknowledged: number; deadLettered: number },
): Promise<ProduceEventsResult> {
  const { workflowExecution, attempt, startToCloseTimeoutMs } = ctx.info;
  if (!workflowExecution) throw new InvalidInputError('produceEvents runs inside a workflow only');
  const { source } = deps;
  checkInput(input, deps.config.maxEventCount, source.name);
  checkTimeout(startToCloseTimeoutMs, deps.config.transactionMaxTimeoutMs);
  const { nominalTimeMs, eventCount } = input;
  const outcome = await deps.produceRun({
    source,
    eventCount,
    nominalTimeMs,
    // Scheduled: the schedule's id (the workflow passes TemporalScheduledById); by hand: the workflow id.
    origin: originOf(input.scheduleId, workflowExecution.workflowId),
    run: { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId, attempt },
    onProgress: (acknowledged, deadLettered) => Object.assign(progress, { acknowledged, deadLettered }),
    throwIfCancelled: () => {
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    },
    // An attempt never outlives its start-to-close timeout, so its transaction fits in it.
    transactionTimeoutMs: startToCloseTimeoutMs,
  });
  if (outcome.status === 'already-committed') {
    ctx.log.info('run already produced; nothing sent', { run: outcome.key, by: outcome.producedBy, attempt });
  }
  const { firstOrderId, lastOrderId, source: progressOfSource } = outcome;
  return {
    ...outcome.report,
    nominalTime: slotTime(nominalTimeMs),
    runKey: outcome.key,
    alreadyCommitted: outcome.status === 'already-committed',
    ...(firstOrderId !== undefined ? { firstOrderId } : {}),
    ...(lastOrderId !== undefined ? { lastOrderId } : {}),
    ...(progressOfSource ? { source: progressOfSource } : {}),
  };
}

/** A run that names its source runs only on a worker of that source. */
function checkSource(asked: string | undefined, mine: string): void {
  if (asked === undefined || asked === mine) return;
  throw new SourceMismatchError(
    `the run asks for source ${asked}, but this worker publishes source ${mine} ` +
      `(EVENT_SOURCE, OUTBOX_TABLE, OUTBOX_SOURCE_NAME): nothing was sent. Run it on a worker set up for ${asked}, ` +
      `or give each source its own task queue (TEMPORAL_TASK_QUEUE)`,
  );
}

function checkTimeout(startToCloseTimeoutMs: number, transactionMaxTimeoutMs: number): void {
  if (startToCloseTimeoutMs <= transactionMaxTimeoutMs) return;
  throw new ConfigError(
    `the activity's start-to-close timeout (${startToCloseTimeoutMs} ms) is longer than the longest Kafka ` +
      `transaction allowed (KAFKA_TRANSACTION_MAX_TIMEOUT_MS=${transactionMaxTimeoutMs} ms): an attempt could outlive its transaction`,
  );
}

function checkInput(input: ProduceEventsInput, max: number, sourceName: string): void {
  const { eventCount, nominalTimeMs, scheduleId, source } = input ?? {};
  if (!Number.isInteger(eventCount) || eventCount < 1 || eventCount > max) {
    throw new InvalidInputError(`eventCount must be an integer from 1 to ${max}, got ${JSON.stringify(eventCount)}`);
  }
  if (!Number.isSafeInteger(nominalTimeMs) || nominalTimeMs < 0) {
    throw new InvalidInputError(`nominalTimeMs must be a time in ms since 1970, got ${JSON.stringify(nominalTimeMs)}`);
  }
  if (scheduleId !== undefined && (typeof scheduleId !== 'string' || scheduleId === '')) {
    throw new InvalidInputError(`scheduleId must be a schedule id or absent, got ${JSON.stringify(scheduleId)}`);
  }
  if (source !== undefined && (typeof source !== 'string' || source === '')) {
    throw new InvalidInputError(`source must be a source's name or absent, got ${JSON.stringify(source)}`);
  }
  checkSource(source, sourceName);
}

/** Our errors become ApplicationFailures typed by class name (the workflow's non-retryable list). */
function toFailure(err: unknown, ctx: Context): unknown {
  if (err instanceof ProducerError) {
    return ApplicationFailure.create({ type: err.name, message: errorMessage(err), nonRetryable: !err.retryable });
  }
  if (err instanceof ApplicationFailure) return err;
  if (ctx.cancellationSignal.aborted) return err;
  return ApplicationFailure.create({ type: (err as Error)?.name ?? 'Error', message: errorMessage(err) });
}
