// The run report as batches are acknowledged: counts, and per partition of the events topic the
// offsets where the backend learns them (kafkajs does; librdkafka reports none, so they stay null).
import type { PartitionAck } from '../kafka/backend.ts';
import type { PartitionSummary, RunReport } from '../run-ledger/index.ts';

export interface RunReportBuilder {
  /**
   * Counts one acknowledged batch: its events per partition of the events topic (index =
   * partition), its dead letters, and where the events landed.
   */
  acknowledged(acks: PartitionAck[], eventsPerPartition: readonly number[], deadLettered: number): void;
  /** The report so far. */
  report(): RunReport;
  /** The report once `events` and `deadLettered` land too, their offsets not known yet (null). */
  reportWith(eventsPerPartition: readonly number[], deadLettered: number): RunReport;
  readonly counts: { acknowledged: number; deadLettered: number };
}

export function createRunReportBuilder(
  fixed: Pick<RunReport, 'topic' | 'dlqTopic' | 'schemaId'>,
  durationMs: () => number,
): RunReportBuilder {
  const partitions = new Map<number, PartitionSummary>();
  const counts = { acknowledged: 0, deadLettered: 0 };
  const report = (): RunReport => ({
    ...fixed,
    acknowledged: counts.acknowledged,
    deadLettered: counts.deadLettered,
    partitions: sorted(partitions),
    durationMs: durationMs(),
  });
  return {
    counts,
    acknowledged(acks, eventsPerPartition, deadLettered) {
      addOffsets(partitions, acks, fixed.topic, eventsPerPartition);
      for (const count of eventsPerPartition) counts.acknowledged += count ?? 0;
      counts.deadLettered += deadLettered;
    },
    report,
    reportWith(eventsPerPartition, deadLettered) {
      const copy = new Map([...partitions].map(([p, summary]) => [p, { ...summary }]));
      let events = 0;
      eventsPerPartition.forEach((count, partition) => {
        if (!count) return;
        events += count;
        const summary = copy.get(partition);
        if (summary) {
          summary.count += count;
          summary.lastOffset = null;
        } else {
          copy.set(partition, { partition, count, firstOffset: null, lastOffset: null });
        }
      });
      const soFar = report();
      return {
        ...soFar,
        acknowledged: soFar.acknowledged + events,
        deadLettered: soFar.deadLettered + deadLettered,
        partitions: sorted(copy),
      };
    },
  };
}

const sorted = (partitions: Map<number, PartitionSummary>): PartitionSummary[] =>
  [...partitions.values()].sort((a, b) => a.partition - b.partition);

/** Adds one batch's acknowledged events to `partitions`. */
function addOffsets(
  partitions: Map<number, PartitionSummary>,
  acks: PartitionAck[],
  topic: string,
  eventsPerPartition: readonly number[],
): void {
  for (const ack of acks) {
    const count = ack.topic === topic ? (eventsPerPartition[ack.partition] ?? 0) : 0;
    if (count === 0) continue;
    const first = ack.baseOffset;
    const last = first === null ? null : first + count - 1;
    const summary = partitions.get(ack.partition);
    if (!summary) {
      partitions.set(ack.partition, { partition: ack.partition, firstOffset: first, lastOffset: last, count });
      continue;
    }
    summary.count += count;
    if (first === null || last === null || summary.firstOffset === null || summary.lastOffset === null) {
      summary.firstOffset = summary.lastOffset = null;
    } else {
      summary.firstOffset = Math.min(summary.firstOffset, first);
      summary.lastOffset = Math.max(summary.lastOffset, last);
    }
  }
}
