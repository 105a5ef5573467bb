// The produceEvents activity, made by a factory over narrow dependencies: the worker passes the
// long-lived engine; tests pass the same engine or fakes.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ProducerError, errorMessage } from '../errors.ts';
import type { DeliveryReport, SendRequest } from '../order-event-sender.ts';
import type { ReadRecord } from '../kafka/read-topic.ts';
import { orderEventsForRun, orderIdFor } from './order-events-source.ts';
import type { Limits, ProduceActivities, ProduceEventsInput, ProduceEventsResult } from './types.ts';

export interface ActivityDeps {
  /** The engine: validates, encodes and produces inside one Kafka transaction. */
  send(request: SendRequest): Promise<DeliveryReport>;
  /** Reads the run ledger (committed records only). */
  readLedger(topic: string): Promise<ReadRecord[]>;
  config: { runsTopic: string; maxEventCount: number };
  /** Test seam: called at named points of an attempt to inject failures. */
  faults?: (point: 'before-send' | 'after-commit', attempt: number) => void;
}

type LedgerEntry = ProduceEventsResult;

export function createActivities(deps: ActivityDeps): ProduceActivities {
  async function findCommitted(runKey: string): Promise<LedgerEntry | undefined> {
    const records = await deps.readLedger(deps.config.runsTopic);
    const mine = records.filter((r) => r.key === runKey);
    const last = mine.at(-1);
    return last?.value ? (JSON.parse(last.value.toString('utf8')) as LedgerEntry) : undefined;
  }

  return {
    async limits(): Promise<Limits> {
      return { maxEventCount: deps.config.maxEventCount };
    },

    async produceEvents(input: ProduceEventsInput): Promise<ProduceEventsResult> {
      const ctx = Context.current();
      const { workflowExecution, attempt } = ctx.info;
      if (!workflowExecution) {
        throw ApplicationFailure.nonRetryable('produceEvents runs inside a workflow only', 'InvalidInputError');
      }
      const runKey = `${workflowExecution.workflowId}@${input.nominalTimeMs}`;
      try {
        if (attempt > 1) {
          // An earlier attempt may have committed and then died before reporting: do not re-send.
          const committed = await findCommitted(runKey);
          if (committed) {
            ctx.log.info('run already committed by an earlier attempt; not re-sending', { runKey, attempt });
            return { ...committed, alreadyCommitted: true };
          }
        }
        deps.faults?.('before-send', attempt);
        const ids = {
          firstOrderId: String(orderIdFor(input.nominalTimeMs, 0)),
          lastOrderId: String(orderIdFor(input.nominalTimeMs, input.eventCount - 1)),
        };
        const report = await deps.send({
          events: orderEventsForRun(input.nominalTimeMs, input.eventCount),
          run: { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId, attempt },
          onProgress: (acknowledged, deadLettered) => ctx.heartbeat({ acknowledged, deadLettered }),
          throwIfCancelled: () => {
            if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          },
          ledger: {
            topic: deps.config.runsTopic,
            key: runKey,
            value: (r) => Buffer.from(JSON.stringify({ ...r, ...ids, alreadyCommitted: false } satisfies LedgerEntry)),
          },
        });
        deps.faults?.('after-commit', attempt);
        return { ...report, ...ids, alreadyCommitted: false };
      } catch (err) {
        if (err instanceof ProducerError) {
          throw ApplicationFailure.create({
            type: err.name,
            message: err.message,
            nonRetryable: !err.retryable,
          });
        }
        if (err instanceof ApplicationFailure) throw err;
        if (ctx.cancellationSignal.aborted) throw err;
        throw ApplicationFailure.create({ type: (err as Error)?.name ?? 'Error', message: errorMessage(err) });
      }
    },
  };
}
