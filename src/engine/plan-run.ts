// A RunSource's plan: the run is keyed by its identity (topic, origin, nominal time) and produced at most
// once. Inside its transaction, every earlier producer of the run fenced, the ledger is asked
// whether the run was produced; if not, its events (a pure function of the run) are produced with
// the ledger record riding the last batch.
import {
  orderIdBase,
  runKey,
  runTransactionalId,
  type LedgerRecord,
  type LegacyLedgerRecord,
  type RunIdentity,
  type RunReport,
} from '../run-ledger/index.ts';
import type { RunSource } from '../sources/contract.ts';
import type { Plan } from './run.ts';
import type { EngineContext } from './run-context.ts';
import type { RunOutcome, RunRequest } from './types.ts';

type Decided =
  | { status: 'produced'; report: RunReport }
  | { status: 'already-committed'; record: LedgerRecord | LegacyLedgerRecord };

export function runSourcePlan(engine: EngineContext, request: RunRequest, source: RunSource): Plan<Decided> {
  const { config } = engine;
  const origin = request.origin ?? { workflow: request.run.workflowId };
  const identity: RunIdentity = { topic: config.topic, origin, nominalTimeMs: request.nominalTimeMs };
  const params = { eventCount: request.eventCount };
  const base = orderIdBase(identity);
  const ids = { firstOrderId: String(base), lastOrderId: String(base + BigInt(request.eventCount - 1)) };
  const key = runKey(identity);
  return {
    key,
    transactionalId: runTransactionalId(identity),
    attributes: { 'order_events.nominal_time': new Date(identity.nominalTimeMs).toISOString() },
    async decide(t) {
      const answer = await t.ledger.check(identity, params);
      t.steps.mark('check');
      if (answer.status === 'produced') return { status: 'already-committed', record: answer.record };
      const by = { ...request.run, ...ids };
      const report = await t.produce({
        events: source.events({
          nominalTimeMs: request.nominalTimeMs,
          eventCount: request.eventCount,
          firstOrderId: base,
        }),
        entry: (r) => t.ledger.entryFor(answer.place, identity, params, r, by),
      });
      return { status: 'produced', report };
    },
    async settle(decided, after): Promise<RunOutcome> {
      if (decided.status === 'produced') {
        after.reportProduced(decided.report);
        return { status: 'produced', key, report: decided.report, ...ids };
      }
      const { record } = decided;
      engine.metrics.runAlreadyCommitted();
      engine.logger.info('run already produced; nothing sent', {
        run: key,
        by: record.workflowId,
        stepsMs: after.steps,
      });
      return {
        status: 'already-committed',
        key,
        report: reportOf(record),
        producedBy: record.workflowId,
        firstOrderId: record.firstOrderId,
        lastOrderId: record.lastOrderId,
      };
    },
  };
}

function reportOf(r: LedgerRecord | LegacyLedgerRecord): RunReport {
  const { topic, acknowledged, deadLettered, dlqTopic, partitions, schemaId, durationMs } = r;
  return { topic, acknowledged, deadLettered, dlqTopic, partitions, schemaId, durationMs };
}
