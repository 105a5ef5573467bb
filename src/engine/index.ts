// The engine behind produceEvents: produces one run at most once. It opens the run's transaction
// (fencing every earlier producer of the run), asks the run ledger whether the run was produced,
// and if not, encodes and produces the run's events with the ledger record in that transaction.
//
//   batch-encoder.ts    one event: validated, wire-format encoded, or dead-lettered (typed reason)
//   produce-batches.ts  the run's events in bounded batches, one in flight, ledger record last
//   run-report.ts       counts and offsets per partition as batches are acknowledged
//   restarts.ts         the transaction again after a transient Kafka failure
import type { RunAttempt } from '../dlq/envelope.ts';
import type { ProducerTransaction } from '../kafka/backend.ts';
import { noMetrics } from '../telemetry/metrics.ts';
import { inSpan, traceHeaders } from '../telemetry/tracing.ts';
import {
  orderIdBase,
  runKey,
  runTransactionalId,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunIdentity,
  type RunOrigin,
  type RunParams,
  type RunLedger,
  type RunReport,
} from '../run-ledger/index.ts';
import { createBatchEncoder } from './batch-encoder.ts';
import { produceCursorRun, type CursorOutcome, type CursorRunRequest } from './cursor-run.ts';
import { produceBatches } from './produce-batches.ts';
import { withRestarts } from './restarts.ts';
import { createRunReportBuilder } from './run-report.ts';
import {
  lookups,
  stepClock,
  transactionOptions,
  type EngineDeps,
  type Parts,
  type RunLookups,
  type StepClock,
} from './run-parts.ts';

export type { CursorOutcome, CursorRunRequest } from './cursor-run.ts';

/** A run: produced at most once, whatever the attempt or the execution (src/run-ledger/identity.ts). */
export interface RunRequest {
  /** Who started the run and for which slot; the engine adds its topic to make the run's identity. */
  identity: { origin: RunOrigin; nominalTimeMs: number };
  /** What the run asks for: stored in the ledger, compared when the run is found there. */
  params: RunParams;
  /** The run's events with order ids from `firstOrderId`, generated afresh for each try, lazily. */
  events: (firstOrderId: bigint) => Iterable<unknown> | AsyncIterable<unknown>;
  run: RunAttempt & { attempt: number };
  /** The transaction's timeout: at least as long as the attempt may run. */
  transactionTimeoutMs: number;
  /** Called after each batch the broker acknowledged, with the running counts. */
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  /** Checked when the transaction is open and before the commit: a cancelled run aborts instead of committing. */
  throwIfCancelled?: () => void;
}

/** Whether this call produced the run or found it already produced. */
type RunDecision =
  { status: 'produced'; report: RunReport } | { status: 'already-produced'; record: LedgerRecord | LegacyLedgerRecord };

/** A run's outcome, with the run's ledger key and order ids (from its record when already produced). */
export type RunOutcome = { key: string; firstOrderId: string; lastOrderId: string } & RunDecision;

export interface Engine {
  /** Fences every earlier producer of the run, looks the run up in the ledger, and produces it only if absent. */
  produceRun(request: RunRequest): Promise<RunOutcome>;
  /**
   * A cursor source's next run: fences every earlier run of the source, reads its position from the
   * ledger, publishes what follows and records the new position in the same transaction.
   */
  produceFromCursor(request: CursorRunRequest): Promise<CursorOutcome>;
}

export function createEngine(deps: EngineDeps): Engine {
  const metrics = deps.metrics ?? noMetrics;
  const parts: Parts = {
    ...deps,
    metrics,
    encode: createBatchEncoder({ ...deps, now: deps.now ?? Date.now }),
    observe: { committed: (s) => metrics.committed(s), aborted: () => metrics.transactionAborted() },
  };
  return {
    produceRun: (request) => produceRun(parts, request),
    produceFromCursor: (request) => produceCursorRun(parts, request),
  };
}

async function produceRun(parts: Parts, request: RunRequest): Promise<RunOutcome> {
  const { config, producer } = parts;
  const started = performance.now();
  const run: Run = {
    identity: { topic: config.topic, ...request.identity },
    request,
    started,
    lookups: await lookups(parts),
    ledger: await producer.ledger(config.runsTopic),
    steps: stepClock(),
  };
  const base = orderIdBase(run.identity);
  const ids = { firstOrderId: String(base), lastOrderId: String(base + BigInt(request.params.eventCount - 1)) };
  const transaction = transactionOptions(parts, runTransactionalId(run.identity), request);
  const spanAttributes = {
    'messaging.destination.name': config.topic,
    'messaging.kafka.transactional_id': transaction.transactionalId,
    'order_events.slot': new Date(run.identity.nominalTimeMs).toISOString(),
    'order_events.client': producer.client,
  };
  const inTransaction = () =>
    inSpan('kafka.transaction', spanAttributes, async () => {
      run.steps = stepClock();
      const decided = await producer.inTransaction(transaction, (tx) => decideAndProduce(parts, tx, run, ids));
      run.steps.mark('commit');
      return decided;
    });
  const key = runKey(run.identity);
  const decided = await withRestarts(inTransaction, {
    restarts: config.transactionRestarts,
    logger: parts.logger,
    run: key,
    ...(request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {}),
  });
  parts.metrics.runDuration((performance.now() - started) / 1000);
  return outcomeOf(parts, decided, { key, ids, workflowId: request.run.workflowId, steps: run.steps.ms });
}

/** One run's state across the tries of its transaction. */
interface Run {
  identity: RunIdentity;
  request: RunRequest;
  /** When the engine took the run (monotonic clock). */
  started: number;
  lookups: RunLookups;
  ledger: RunLedger;
  /** Where the last try's time went (logged with the outcome). */
  steps: StepClock;
}

/**
 * Inside the run's open transaction: every earlier producer of the run is fenced, so what the
 * ledger says now cannot change under us, and deciding on it is safe.
 */
async function decideAndProduce(
  parts: Parts,
  tx: ProducerTransaction,
  run: Run,
  ids: { firstOrderId: string; lastOrderId: string },
): Promise<RunDecision> {
  const { config } = parts;
  const { identity, request, ledger } = run;
  run.steps.mark('open');
  const answer = await ledger.check(identity, request.params);
  run.steps.mark('check');
  if (answer.status === 'produced') return { status: 'already-produced', record: answer.record };
  const by = { ...request.run, ...ids };
  const headers = traceHeaders(); // consumers can join the transaction's trace
  const report = createRunReportBuilder(
    { topic: config.topic, dlqTopic: config.dlqTopic, schemaId: run.lookups.schemaId },
    () => Math.round(performance.now() - run.started),
  );
  const produced = await produceBatches({ config, encode: parts.encode, metrics: parts.metrics }, tx, {
    events: request.events(BigInt(ids.firstOrderId)),
    context: { ...run.lookups, run: request.run, ...(headers ? { headers } : {}) },
    report,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ledger: { topic: config.runsTopic, entry: (r) => ledger.entryFor(answer.place, identity, request.params, r, by) },
  });
  run.steps.mark('produce');
  return { status: 'produced', report: produced };
}

function outcomeOf(
  parts: Parts,
  decided: RunDecision,
  {
    key,
    ids,
    workflowId,
    steps,
  }: { key: string; ids: { firstOrderId: string; lastOrderId: string }; workflowId: string; steps: StepClock['ms'] },
): RunOutcome {
  const { metrics, logger } = parts;
  if (decided.status === 'produced') {
    const { report } = decided;
    metrics.runCommitted();
    metrics.produced(report.acknowledged);
    metrics.deadLettered(report.deadLettered);
    logger.info('events produced', {
      topic: report.topic,
      acknowledged: report.acknowledged,
      deadLettered: report.deadLettered,
      schemaId: report.schemaId,
      durationMs: report.durationMs,
      stepsMs: steps,
      workflowId,
    });
    return { ...decided, key, ...ids };
  }
  metrics.runAlreadyCommitted();
  logger.info('run already produced; nothing sent', { run: key, by: decided.record.workflowId, stepsMs: steps });
  const { firstOrderId, lastOrderId } = decided.record;
  return { ...decided, key, firstOrderId, lastOrderId };
}
