// A cursor source's run (src/sources/contract.ts): one position chain per source. The transaction
// opens with the source's transactional id, which fences every earlier run of the source (another
// schedule, a backfill, a reset, a zombie); only then is the position read from the ledger, the
// events after it produced, and the new position written in the ledger record of the same
// transaction. A run that fails or is fenced commits nothing and moves nothing: the next starts
// where the last committed run stopped.
import type { RunAttempt } from '../dlq/envelope.ts';
import type { ProducerTransaction } from '../kafka/backend.ts';
import { positionKey, slotTime, sourceTransactionalId, type RunLedger, type RunReport } from '../run-ledger/index.ts';
import { errorMessage } from '../errors.ts';
import type { CursorSource } from '../sources/contract.ts';
import { inSpan, traceHeaders } from '../telemetry/tracing.ts';
import { produceBatches } from './produce-batches.ts';
import { withRestarts } from './restarts.ts';
import { createRunReportBuilder } from './run-report.ts';
import { lookups, stepClock, transactionOptions, type Parts, type RunLookups, type StepClock } from './run-parts.ts';

export interface CursorRunRequest {
  source: CursorSource;
  /** The most events this run publishes; the rest waits for the next run. */
  maxEvents: number;
  /** The run's slot (recorded, and in logs); it does not decide what is published. */
  nominalTimeMs: number;
  run: RunAttempt & { attempt: number };
  transactionTimeoutMs: number;
  onProgress?: (acknowledged: number, deadLettered: number) => void;
  throwIfCancelled?: () => void;
}

export interface CursorOutcome {
  status: 'produced';
  /** The source's position record key in the ledger. */
  key: string;
  report: RunReport;
  /** The positions the run started after and stopped at (undefined: the source's beginning). */
  from: string | undefined;
  to: string | undefined;
  /** Age of the oldest event still waiting after `to`, in seconds; null when it could not be read. */
  lagSeconds: number | null;
}

interface CursorTry {
  request: CursorRunRequest;
  /** The position the last try read from the ledger (undefined until one did, or at the source's start). */
  read: { from: string | undefined };
  ledger: RunLedger;
  lookups: RunLookups;
  started: number;
  steps: StepClock;
}

export async function produceCursorRun(parts: Parts, request: CursorRunRequest): Promise<CursorOutcome> {
  const read: { from: string | undefined } = { from: undefined };
  try {
    return await publishRun(parts, request, read);
  } catch (err) {
    await reportStuck(parts, request.source, read.from, err);
    throw err;
  }
}

async function publishRun(
  parts: Parts,
  request: CursorRunRequest,
  read: { from: string | undefined },
): Promise<CursorOutcome> {
  const { config, producer, logger } = parts;
  const { source } = request;
  const started = performance.now();
  const state: CursorTry = {
    request,
    read,
    lookups: await lookups(parts),
    ledger: await producer.ledger(config.runsTopic),
    started,
    steps: stepClock(),
  };
  const transaction = transactionOptions(parts, sourceTransactionalId(config.topic, source.name), request);
  const attributes = {
    'messaging.destination.name': config.topic,
    'messaging.kafka.transactional_id': transaction.transactionalId,
    'order_events.source': source.name,
    'order_events.client': producer.client,
  };
  const key = positionKey(config.topic, source.name);
  const done = await withRestarts(
    () =>
      inSpan('kafka.transaction', attributes, async () => {
        state.steps = stepClock();
        const published = await producer.inTransaction(transaction, (tx) => publishAfterPosition(parts, tx, state));
        state.steps.mark('commit');
        return published;
      }),
    { restarts: config.transactionRestarts, logger, run: key, ...optional(request) },
  );
  parts.metrics.runDuration((performance.now() - started) / 1000);
  await source.committed(done.to);
  const lag = await readLag(parts, source, done.to);
  const { report } = done;
  parts.metrics.runCommitted();
  parts.metrics.produced(report.acknowledged);
  parts.metrics.deadLettered(report.deadLettered);
  logger.info('events produced', {
    topic: report.topic,
    source: source.name,
    from: done.from ?? null,
    to: done.to ?? null,
    acknowledged: report.acknowledged,
    deadLettered: report.deadLettered,
    lagSeconds: lag?.seconds ?? null,
    ...(lag?.heldBy ? { heldBy: lag.heldBy } : {}),
    durationMs: report.durationMs,
    stepsMs: state.steps.ms,
    workflowId: request.run.workflowId,
  });
  if (lag?.heldBy && lag.seconds >= HELD_BACK_WARN_SECONDS) {
    logger.warn('source held back', { source: source.name, lagSeconds: lag.seconds, cause: lag.heldBy });
  }
  return { status: 'produced', key, report, from: done.from, to: done.to, lagSeconds: lag?.seconds ?? null };
}

/** Rows waiting this long behind an open transaction are worth a warning (a run every 5 minutes is routine). */
const HELD_BACK_WARN_SECONDS = 60;

/** The source's lag after `position`, into the gauge; null when the source could not tell. */
async function readLag(parts: Parts, source: CursorSource, position: string | undefined) {
  try {
    const lag = await source.lag(position);
    parts.metrics.sourceLag(source.name, lag.seconds);
    return lag;
  } catch (err) {
    parts.logger.warn('source lag not read', { source: source.name, error: errorMessage(err) });
    return null;
  }
}

/**
 * A failed run leaves the source where it was: the lag gauge is brought up to date (from the
 * position the run read, or the last one the source knows), and one line says what stopped it.
 */
async function reportStuck(parts: Parts, source: CursorSource, from: string | undefined, err: unknown) {
  const lag = await readLag(parts, source, from);
  parts.logger.warn('source run failed; nothing of it was published', {
    source: source.name,
    cause: errorMessage(err),
    errorClass: (err as Error)?.name ?? 'Error',
    lagSeconds: lag?.seconds ?? null,
    ...(lag?.heldBy ? { heldBy: lag.heldBy } : {}),
  });
}

const optional = (request: CursorRunRequest) =>
  request.throwIfCancelled ? { throwIfCancelled: request.throwIfCancelled } : {};

/** Inside the source's open transaction (every earlier run of the source fenced). */
async function publishAfterPosition(
  parts: Parts,
  tx: ProducerTransaction,
  state: CursorTry,
): Promise<{ report: RunReport; from: string | undefined; to: string | undefined }> {
  const { config } = parts;
  const { request, ledger } = state;
  const { source } = request;
  state.steps.mark('open');
  const { record, place } = await ledger.position(config.topic, source.name);
  state.steps.mark('check');
  const from = record?.to ?? undefined;
  state.read.from = from;
  if (!record) await source.checkFirstRun();
  const read = await source.read(from, {
    maxEvents: request.maxEvents,
    maxEventBytes: state.lookups.limits.events.maxMessageBytes,
  });
  const headers = traceHeaders();
  const report = createRunReportBuilder(
    { topic: config.topic, dlqTopic: config.dlqTopic, schemaId: state.lookups.schemaId },
    () => Math.round(performance.now() - state.started),
  );
  const run = {
    source: source.name,
    from: from ?? null,
    maxEvents: request.maxEvents,
    workflowId: request.run.workflowId,
    runId: request.run.runId,
    attempt: request.run.attempt,
    nominalTime: slotTime(request.nominalTimeMs),
  };
  const produced = await produceBatches({ config, encode: parts.encode, metrics: parts.metrics }, tx, {
    events: read.events,
    context: {
      ...state.lookups,
      run: request.run,
      sourceIdOf: read.idOf,
      problemOf: read.problemOf,
      ...(headers ? { headers } : {}),
    },
    report,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ledger: {
      topic: config.runsTopic,
      entry: (r) => ledger.positionEntry(place, { ...run, to: read.position() ?? null }, r),
    },
  });
  state.steps.mark('produce');
  return { report: produced, from, to: read.position() };
}
