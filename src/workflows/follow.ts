// followOutboxWorkflow: the following relay. It runs followOutbox one segment after another (each
// streams the slot for FOLLOW_SEGMENT_MS, committing a batch at a time) and continues as new after
// FOLLOW_SEGMENTS_PER_RUN segments, or sooner when Temporal suggests it, so its history stays small.
// Its workflow id is the source's (`outbox-follow:<source>`), so a second start is told one runs.
// Cancelled, it waits for the segment to stop cleanly (the open batch aborted, nothing it did not
// commit confirmed) and returns what it published.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { FollowOutboxInput, FollowSegment, FollowSummary, FollowTotals, Limits } from '../activities/types.ts';
import { NON_RETRYABLE_ERROR_TYPES } from '../errors.ts';

type Activities = ReturnType<typeof createActivities>;

const { limits } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });

const segmentActivity = (l: Limits) =>
  proxyActivities<Activities>({
    // A segment ends on its own after segmentMs; the margin covers its last batch.
    startToCloseTimeout: l.follow.segmentMs + 120_000,
    heartbeatTimeout: l.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      // A follower keeps trying (a broker or database down, a worker gone) until an error no retry fixes.
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '10s', // back within 10 s of a broker or database coming back (Debezium's restart wait)
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
    summary: 'follow the outbox: stream the slot, commit a batch at a time',
  }).followOutbox;

/** The source names a follower's input may carry (as a run's). */
const SOURCE_NAME = /^[A-Za-z0-9._:/-]{1,200}$/;

export async function followOutboxWorkflow(input?: FollowOutboxInput): Promise<FollowSummary> {
  const source = input?.source;
  if (source !== undefined && (typeof source !== 'string' || !SOURCE_NAME.test(source))) {
    throw ApplicationFailure.create({
      type: 'InvalidInputError',
      nonRetryable: true,
      message: `source must be an outbox's source name such as "outbox:order_outbox", got ${JSON.stringify(source)}`,
    });
  }
  const l = await limits();
  const follow = segmentActivity(l);
  let totals: FollowTotals = input?.totals
    ? { ...input.totals, runs: input.totals.runs + 1 }
    : { commits: 0, rows: 0, deadLettered: 0, runs: 1, since: workflowInfo().startTime.toISOString() };
  let last: FollowSegment | undefined;
  try {
    for (let i = 0; i < l.follow.segmentsPerRun; i++) {
      last = await follow(source === undefined ? {} : { source });
      totals = {
        ...totals,
        commits: totals.commits + last.commits,
        rows: totals.rows + last.rows,
        deadLettered: totals.deadLettered + last.deadLettered,
      };
      setCurrentDetails(details(totals, last));
      if (CancellationScope.current().consideredCancelled) return stoppedSummary(totals, last);
      if (workflowInfo().continueAsNewSuggested) break;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    return stoppedSummary(totals, last);
  }
  return await continueAsNew<typeof followOutboxWorkflow>({ ...(source === undefined ? {} : { source }), totals });
}

function stoppedSummary(totals: FollowTotals, last: FollowSegment | undefined): FollowSummary {
  return { ...totals, stopped: true, position: last?.position ?? null, summary: `Stopped. ${line(totals)}` };
}

function line(t: FollowTotals): string {
  return `${t.rows} rows in ${t.commits} commits (${t.deadLettered} dead-lettered) since ${t.since}, run ${t.runs}`;
}

function details(t: FollowTotals, s: FollowSegment): string {
  return (
    `**Following: ${line(t)}**\n\n` +
    `last segment: ${s.rows} rows in ${s.commits} commits; lag ${s.lagSeconds.toFixed(1)} s, ` +
    `${s.lagBytes} bytes of WAL; position ${s.position ?? 'none yet'}`
  );
}
