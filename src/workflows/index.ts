// produceOrderEventsWorkflow: validates its input, then runs produceEvents once with the
// tutorial's retry policy (Prefect retries=3, retry_delay_seconds=5).
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { proxyActivities, proxyLocalActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { Limits, ProduceOrderEventsInput, RunSummary } from '../activities/types.ts';
import { NON_RETRYABLE_ERROR_TYPES } from '../errors.ts';
import { runInputOf } from './input.ts';

/** Timeouts come from the worker's settings (10 min start-to-close, 1 min heartbeat by default). */
type Activities = ReturnType<typeof createActivities>;

const produceEventsActivity = (l: Limits) =>
  proxyActivities<Activities>({
    startToCloseTimeout: l.startToCloseTimeoutMs,
    heartbeatTimeout: l.heartbeatTimeoutMs,
    retry: {
      maximumAttempts: 4, // the first attempt + Prefect's 3 retries
      initialInterval: '5s',
      backoffCoefficient: 1, // Temporal's default is 2; Prefect waits a flat 5 s
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
    summary: 'produce order events to Kafka',
  }).produceEvents;

const { limits } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

export async function produceOrderEventsWorkflow(input?: ProduceOrderEventsInput): Promise<RunSummary> {
  const workerLimits = await limits();
  const { eventCount, source } = runInputOf(input, workerLimits.maxEventCount);

  const info = workflowInfo();
  const nominal = info.typedSearchAttributes.get(SCHEDULED_START) ?? info.startTime;
  // Part of the run's identity: two schedules firing at the same instant are two runs.
  const scheduleId = info.typedSearchAttributes.get(SCHEDULED_BY);
  setCurrentDetails(`Producing ${eventCount} events for ${nominal.toISOString()}…`);

  const result = await produceEventsActivity(workerLimits)({
    eventCount,
    nominalTimeMs: nominal.getTime(),
    ...(scheduleId ? { scheduleId } : {}),
    // The source the run must publish: a worker set up for another one refuses it.
    ...(source ? { source } : {}),
  });
  const offsets = result.partitions
    .map((p) =>
      p.firstOffset === null ? `p${p.partition}:${p.count} events` : `p${p.partition}:${p.firstOffset}-${p.lastOffset}`,
    )
    .join(' ');
  const summary =
    `${result.alreadyCommitted ? 'Already produced' : 'Produced'} ${result.acknowledged} events to ${result.topic} ` +
    `(${offsets || 'no partitions'}), ${result.deadLettered} dead-lettered to ${result.dlqTopic}, schema id ${result.schemaId}` +
    (result.source
      ? `; ${result.source.name} ${shown(result.source.from)} → ${shown(result.source.to)}, lag ${result.source.lagSeconds ?? '?'} s`
      : '');
  const where = result.source
    ? `source ${result.source.name}: position ${result.source.from ?? 'start'} → ${result.source.to ?? 'start'}, ` +
      `lag ${result.source.lagSeconds === null ? 'unknown' : `${result.source.lagSeconds.toFixed(1)} s`}`
    : `order ids ${result.firstOrderId} … ${result.lastOrderId}`;
  setCurrentDetails(`**${summary}**\n\n${where}`);
  // summary first: the UI shows the top of the result without scrolling.
  return { summary, eventCount, ...result };
}

/**
 * A source position as a person reads it in the summary: an outbox position (JSON) as its WAL
 * position (`0/16B3748`, or `0/16B3748+5000` when a run stopped 5,000 rows inside the next
 * transaction); any other as it is. The full position is in the result's `source`.
 */
function shown(position: string | null): string {
  if (position === null) return 'start';
  try {
    const p = JSON.parse(position) as { lsn?: unknown; inside?: { rows?: unknown } };
    if (typeof p.lsn === 'string') return p.inside ? `${p.lsn}+${String(p.inside.rows)}` : p.lsn;
  } catch {
    // not JSON: shown as it is
  }
  return position;
}

export { followOutboxWorkflow } from './follow.ts';
