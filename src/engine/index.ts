// The engine behind produceEvents: produces each run at most once, whatever its source. Every run
// goes through one skeleton (run.ts): it opens the run's transaction (fencing every earlier
// producer of the run, or of the source), lets the source's plan decide inside it, and produces the
// events with the ledger record in the same transaction.
//
//   run.ts              the skeleton: encoding facts, transaction, span, steps, restarts, metrics, log line
//   plan-run.ts         a RunSource's plan: the run keyed by its identity, produced once
//   plan-cursor.ts      a CursorSource's plan: the events after the source's position, the new position recorded
//   types.ts            the request and the outcome
//   run-context.ts      the engine's context (its dependencies, shared by every run) and each run's encoding facts
//   step-clock.ts       where a try's time went, step by step
//   batch-encoder.ts    one event: validated, wire-format encoded, or dead-lettered (typed reason)
//   produce-batches.ts  the run's events in bounded batches, one in flight, ledger record last
//   run-report.ts       counts and offsets per partition as batches are acknowledged
//   restarts.ts         the transaction again after a transient Kafka failure
import { noMetrics } from '../telemetry/metrics.ts';
import { createBatchEncoder } from './batch-encoder.ts';
import { cursorSourcePlan } from './plan-cursor.ts';
import { runSourcePlan } from './plan-run.ts';
import { runPlan } from './run.ts';
import type { EngineDeps, EngineContext } from './run-context.ts';
import type { RunOutcome, RunRequest } from './types.ts';

export type { RunOutcome, RunRequest, SourceProgress } from './types.ts';

export interface Engine {
  /** Fences every earlier producer of the run (or source), decides inside the transaction, produces at most once. */
  produceRun(request: RunRequest): Promise<RunOutcome>;
}

export function createEngine(deps: EngineDeps): Engine {
  const metrics = deps.metrics ?? noMetrics;
  const context: EngineContext = {
    ...deps,
    metrics,
    encode: createBatchEncoder({ ...deps, now: deps.now ?? Date.now }),
    observe: { committed: (s) => metrics.committed(s), aborted: () => metrics.transactionAborted() },
  };
  return {
    produceRun(request) {
      const { source } = request;
      return source.kind === 'cursor'
        ? runPlan(context, request, cursorSourcePlan(context, request, source))
        : runPlan(context, request, runSourcePlan(context, request, source));
    },
  };
}
