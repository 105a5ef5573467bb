// A CursorSource's plan: one position chain per source. The transaction opens with the source's
// transactional id, which fences every earlier run of the source (another schedule, a backfill, a
// reset, a zombie); only then is the position read from the ledger, the events after it produced,
// and the new position written in the ledger record of the same transaction. The source is told of
// the position only after the commit. A run that fails or is fenced commits nothing and moves
// nothing: the next starts where the last committed run stopped.
import { errorMessage } from '../errors.ts';
import { positionKey, slotTime, sourceTransactionalId, type RunReport } from '../run-ledger/index.ts';
import type { CursorSource, SourceLag } from '../sources/contract.ts';
import type { Plan } from './run.ts';
import type { EngineContext } from './run-context.ts';
import type { RunOutcome, RunRequest } from './types.ts';

interface Published {
  report: RunReport;
  from: string | undefined;
  to: string | undefined;
}

export function cursorSourcePlan(engine: EngineContext, request: RunRequest, source: CursorSource): Plan<Published> {
  const { config } = engine;
  const key = positionKey(config.topic, source.name);
  /** The position the last try read from the ledger (undefined until one did, or at the source's start). */
  let readFrom: string | undefined;
  return {
    key,
    transactionalId: sourceTransactionalId(config.topic, source.name),
    attributes: { 'order_events.source': source.name },
    ...(source.prepare ? { before: () => source.prepare!() } : {}),
    async decide(t) {
      const { record, place } = await t.ledger.position(config.topic, source.name);
      t.steps.mark('check');
      const from = record?.to ?? undefined;
      readFrom = from;
      if (!record) await source.checkFirstRun();
      const read = await source.read(from, {
        maxEvents: request.eventCount,
        maxEventBytes: t.facts.limits.events.maxMessageBytes,
      });
      const run = positionRun(request, source, from);
      const report = await t.produce({
        events: read.events,
        context: { sourceIdOf: read.idOf, problemOf: read.problemOf },
        entry: (r) => t.ledger.positionEntry(place, { ...run, to: read.position() ?? null }, r),
      });
      return { report, from, to: read.position() };
    },
    async settle(done, after): Promise<RunOutcome> {
      await source.committed(done.to);
      const lag = await readLag(engine, source, done.to);
      after.reportProduced(done.report, {
        from: done.from ?? null,
        to: done.to ?? null,
        lagSeconds: lag?.seconds ?? null,
      });
      const progress = {
        name: source.name,
        from: done.from ?? null,
        to: done.to ?? null,
        lagSeconds: lag?.seconds ?? null,
      };
      return { status: 'produced', key, report: done.report, source: progress };
    },
    async failed(err) {
      // A failed run leaves the source where it was: the lag gauge is brought up to date, and one line says why.
      const lag = await readLag(engine, source, readFrom);
      engine.logger.warn('source run failed; nothing of it was published', {
        source: source.name,
        cause: errorMessage(err),
        errorClass: (err as Error)?.name ?? 'Error',
        lagSeconds: lag?.seconds ?? null,
      });
    },
  };
}

/** What the ledger record of a cursor run says besides its new position. */
function positionRun(request: RunRequest, source: CursorSource, from: string | undefined) {
  return {
    source: source.name,
    from: from ?? null,
    maxEvents: request.eventCount,
    workflowId: request.run.workflowId,
    runId: request.run.runId,
    attempt: request.run.attempt,
    nominalTime: slotTime(request.nominalTimeMs),
  };
}

/** The source's lag after `position`, into the gauge; null when the source could not tell. */
async function readLag(
  engine: EngineContext,
  source: CursorSource,
  position: string | undefined,
): Promise<SourceLag | null> {
  try {
    const lag = await source.lag(position);
    engine.metrics.sourceLag(source.name, lag.seconds);
    return lag;
  } catch (err) {
    engine.logger.warn('source lag not read', { source: source.name, error: errorMessage(err) });
    return null;
  }
}
