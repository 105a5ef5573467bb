// The produceEvents activity, made by a factory over narrow dependencies: the worker passes the
// long-lived engine; tests pass the same engine or fakes.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ConfigError, InvalidInputError, ProducerError, errorMessage } from '../errors.ts';
import type { RunOutcome, RunRequest } from '../order-event-sender.ts';
import { slotKey, type LedgerRecord } from '../run-ledger.ts';
import { orderEventsForRun, orderIdFor } from './order-events-source.ts';
import type { Limits, ProduceActivities, ProduceEventsInput, ProduceEventsResult } from './types.ts';

export type FaultPoint = 'before-send' | 'after-commit';

export interface ActivityDeps {
  /** The engine: fences the slot, consults the run ledger, and produces the slot at most once. */
  produceRun(request: RunRequest): Promise<RunOutcome>;
  config: {
    runsTopic: string;
    maxEventCount: number;
    activity: { startToCloseTimeoutMs: number; heartbeatTimeoutMs: number };
    /** The longest transaction the broker allows (transaction.max.timeout.ms). */
    transactionMaxTimeoutMs: number;
  };
  /** Test seam: called at named points of an attempt to inject failures. */
  faults?: (point: FaultPoint, attempt: number) => void | Promise<void>;
}

export function createActivities(deps: ActivityDeps): ProduceActivities {
  return {
    async limits(): Promise<Limits> {
      return { maxEventCount: deps.config.maxEventCount, ...deps.config.activity };
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
        return await produce(ctx, input, progress);
      } catch (err) {
        throw toFailure(err, ctx);
      } finally {
        clearInterval(timer);
      }
    },
  };

  async function produce(
    ctx: Context,
    input: ProduceEventsInput,
    progress: { acknowledged: number; deadLettered: number },
  ): Promise<ProduceEventsResult> {
    const { workflowExecution, attempt, startToCloseTimeoutMs } = ctx.info;
    if (!workflowExecution) throw new InvalidInputError('produceEvents runs inside a workflow only');
    checkInput(input, deps.config.maxEventCount);
    if (startToCloseTimeoutMs > deps.config.transactionMaxTimeoutMs) {
      throw new ConfigError(
        `the activity's start-to-close timeout (${startToCloseTimeoutMs} ms) is longer than the longest Kafka ` +
          `transaction allowed (KAFKA_TRANSACTION_MAX_TIMEOUT_MS=${deps.config.transactionMaxTimeoutMs} ms): an attempt could outlive its transaction`,
      );
    }
    const key = slotKey(input.nominalTimeMs);
    const ids = {
      firstOrderId: String(orderIdFor(input.nominalTimeMs, 0)),
      lastOrderId: String(orderIdFor(input.nominalTimeMs, input.eventCount - 1)),
    };
    await deps.faults?.('before-send', attempt);
    const outcome = await deps.produceRun({
      events: () => orderEventsForRun(input.nominalTimeMs, input.eventCount),
      run: { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId, attempt },
      onProgress: (acknowledged, deadLettered) => Object.assign(progress, { acknowledged, deadLettered }),
      throwIfCancelled: () => {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      },
      slot: {
        key,
        ledgerTopic: deps.config.runsTopic,
        // An attempt never outlives its start-to-close timeout, so its transaction fits in it.
        transactionTimeoutMs: startToCloseTimeoutMs,
        record: (report): LedgerRecord => ({
          ...report,
          ...ids,
          slot: key,
          workflowId: workflowExecution.workflowId,
          runId: workflowExecution.runId,
          attempt,
          committedAt: new Date().toISOString(),
        }),
      },
    });
    if (outcome.status === 'already-produced') {
      const { record } = outcome;
      ctx.log.info('slot already produced; nothing sent', { slot: key, by: record.workflowId, attempt });
      return {
        ...pickReport(record),
        slot: key,
        alreadyCommitted: true,
        firstOrderId: record.firstOrderId,
        lastOrderId: record.lastOrderId,
      };
    }
    await deps.faults?.('after-commit', attempt);
    return { ...outcome.report, ...ids, slot: key, alreadyCommitted: false };
  }
}

function checkInput(input: ProduceEventsInput, max: number): void {
  const { eventCount, nominalTimeMs } = input ?? {};
  if (!Number.isInteger(eventCount) || eventCount < 1 || eventCount > max) {
    throw new InvalidInputError(`eventCount must be an integer from 1 to ${max}, got ${JSON.stringify(eventCount)}`);
  }
  if (!Number.isSafeInteger(nominalTimeMs) || nominalTimeMs < 0) {
    throw new InvalidInputError(`nominalTimeMs must be a time in ms since 1970, got ${JSON.stringify(nominalTimeMs)}`);
  }
}

function pickReport(
  r: LedgerRecord,
): Omit<ProduceEventsResult, 'slot' | 'alreadyCommitted' | 'firstOrderId' | 'lastOrderId'> {
  const { topic, acknowledged, deadLettered, dlqTopic, partitions, schemaId, durationMs } = r;
  return { topic, acknowledged, deadLettered, dlqTopic, partitions, schemaId, durationMs };
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
