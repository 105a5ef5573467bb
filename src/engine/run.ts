// The one skeleton every run goes through, whatever its source: the run's encoding facts, its transaction
// (span, step clock, restarts after a transient Kafka failure), the duration metric, and the
// outcome's metrics and log line. What a run decides inside its transaction (has it been produced?
// from which position?) and what it produces is its plan's: plan-run.ts for a RunSource,
// plan-cursor.ts for a CursorSource.
import type { ProducerTransaction } from '../kafka/backend.ts';
import type { OutgoingMessage } from '../kafka/backend.ts';
import type { RunLedger, RunReport } from '../run-ledger/index.ts';
import { inSpan, traceHeaders } from '../telemetry/tracing.ts';
import type { EncodeContext } from './batch-encoder.ts';
import { produceBatches } from './produce-batches.ts';
import { withRestarts } from './restarts.ts';
import { createRunReportBuilder } from './run-report.ts';
import { encodingFacts, transactionOptions, type EngineContext, type EncodingFacts } from './run-context.ts';
import { stepClock, type StepClock } from './step-clock.ts';
import type { RunOutcome, RunRequest } from './types.ts';

/** What one kind of source does inside the skeleton. */
export interface Plan<D> {
  /** The run's ledger key: its identity (a RunSource) or its source's position chain (a CursorSource). */
  key: string;
  /** Fences every earlier producer of the same run (or of the same source). */
  transactionalId: string;
  /** The transaction span's attributes besides the topic, transactional id and client. */
  attributes: Record<string, string>;
  /** Before the transaction opens (nothing fenced yet): throws when the run must not go on. */
  before?(): Promise<void>;
  /** Inside the open transaction, every earlier producer fenced: decide, and produce through `t.produce`. */
  decide(t: Try): Promise<D>;
  /** After the commit: the run's outcome (the plan's own bookkeeping, then `t.reportProduced` or its own line). */
  settle(decided: D, after: After): Promise<RunOutcome>;
  /** After a failed run (nothing of it committed). */
  failed?(err: unknown): Promise<void>;
}

/** One try of the run's transaction, as a plan sees it. */
export interface Try {
  tx: ProducerTransaction;
  ledger: RunLedger;
  facts: EncodingFacts;
  steps: StepClock;
  /** Produces `events` in bounded batches with the ledger record `entry` last; the step `produce` ends here. */
  produce(input: ProduceInput): Promise<RunReport>;
}

export interface ProduceInput {
  events: Iterable<unknown> | AsyncIterable<unknown>;
  context?: Pick<EncodeContext, 'sourceIdOf' | 'problemOf'>;
  entry: (report: RunReport) => OutgoingMessage;
}

/** What the skeleton hands a plan after the commit. */
export interface After {
  steps: StepClock['ms'];
  /** Counts a produced run and logs its `events produced` line, with the plan's own fields. */
  reportProduced(report: RunReport, fields?: Record<string, unknown>): void;
}

export async function runPlan<D>(engine: EngineContext, request: RunRequest, plan: Plan<D>): Promise<RunOutcome> {
  const started = performance.now();
  try {
    await plan.before?.();
    const [facts, ledger] = await Promise.all([encodingFacts(engine), engine.ledgers.get(engine.config.runsTopic)]);
    const transaction = transactionOptions(engine, plan.transactionalId, request);
    const attributes = {
      'messaging.destination.name': engine.config.topic,
      'messaging.kafka.transactional_id': plan.transactionalId,
      'order_events.client': engine.producer.client,
      ...plan.attributes,
    };
    let steps = stepClock();
    const oneTry = () =>
      inSpan('kafka.transaction', attributes, async () => {
        steps = stepClock();
        const decided = await engine.producer.inTransaction(transaction, (tx) => {
          steps.mark('open');
          const produce = (input: ProduceInput) => produceIn(engine, tx, { facts, request, started, steps }, input);
          return plan.decide({ tx, ledger, facts, steps, produce });
        });
        steps.mark('commit');
        return decided;
      });
    const decided = await withRestarts(oneTry, {
      restarts: engine.config.transactionRestarts,
      logger: engine.logger,
      run: plan.key,
      ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
    });
    engine.metrics.runDuration((performance.now() - started) / 1000);
    return await plan.settle(decided, {
      steps: steps.ms,
      reportProduced: (report, fields) => reportProduced(engine, request, report, { ...fields, stepsMs: steps.ms }),
    });
  } catch (err) {
    await plan.failed?.(err);
    throw err;
  }
}

async function produceIn(
  engine: EngineContext,
  tx: ProducerTransaction,
  run: { facts: EncodingFacts; request: RunRequest; started: number; steps: StepClock },
  input: ProduceInput,
): Promise<RunReport> {
  const { config } = engine;
  const { request } = run;
  const headers = traceHeaders(); // consumers can join the transaction's trace
  const report = createRunReportBuilder(
    { topic: config.topic, dlqTopic: config.dlqTopic, schemaId: run.facts.schemaId },
    () => Math.round(performance.now() - run.started),
  );
  const produced = await produceBatches({ config, encode: engine.encode, metrics: engine.metrics }, tx, {
    events: input.events,
    context: { ...run.facts, run: request.run, ...input.context, ...(headers ? { headers } : {}) },
    report,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ledger: { topic: config.runsTopic, entry: input.entry },
  });
  run.steps.mark('produce');
  return produced;
}

function reportProduced(
  engine: EngineContext,
  request: RunRequest,
  report: RunReport,
  fields: Record<string, unknown>,
): void {
  engine.metrics.runCommitted();
  engine.metrics.produced(report.acknowledged);
  engine.metrics.deadLettered(report.deadLettered);
  engine.logger[request.quiet ? 'debug' : 'info']('events produced', {
    topic: report.topic,
    source: request.source.name,
    acknowledged: report.acknowledged,
    deadLettered: report.deadLettered,
    schemaId: report.schemaId,
    durationMs: report.durationMs,
    ...fields,
    workflowId: request.run.workflowId,
  });
}
