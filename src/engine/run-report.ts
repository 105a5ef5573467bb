// The run report as batches are acknowledged: counts, and per partition of the events topic the
// offsets where the backend learns them (kafkajs does; librdkafka reports none, so they stay null).
import type { OutgoingMessage, PartitionAck } from '../kafka/backend.ts';
import type { PartitionSummary, RunReport } from '../run-ledger/index.ts';

export interface RunReportBuilder {
  /** Counts one acknowledged batch: its events, its dead letters, and where the events landed. */
  acknowledged(acks: PartitionAck[], events: OutgoingMessage[], deadLettered: number): void;
  /** The report so far. */
  report(): RunReport;
  /** The report once `events` and `deadLettered` land too, their offsets not known yet (null). */
  reportWith(events: OutgoingMessage[], deadLettered: number): RunReport;
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
    acknowledged(acks, events, deadLettered) {
      addOffsets(partitions, acks, fixed.topic, events);
      counts.acknowledged += events.length;
      counts.deadLettered += deadLettered;
    },
    report,
    reportWith(events, deadLettered) {
      const copy = new Map([...partitions].map(([p, summary]) => [p, { ...summary }]));
      for (const m of events) {
        const summary = copy.get(m.partition);
        if (summary) {
          summary.count++;
          summary.lastOffset = null;
        } else {
          copy.set(m.partition, { partition: m.partition, count: 1, firstOffset: null, lastOffset: null });
        }
      }
      const soFar = report();
      return {
        ...soFar,
        acknowledged: soFar.acknowledged + events.length,
        deadLettered: soFar.deadLettered + deadLettered,
        partitions: sorted(copy),
      };
    },
  };
}

const sorted = (partitions: Map<number, PartitionSummary>): PartitionSummary[] =>
  [...partitions.values()].sort((a, b) => a.partition - b.partition);

function addOffsets(
  partitions: Map<number, PartitionSummary>,
  acks: PartitionAck[],
  topic: string,
  sent: OutgoingMessage[],
): void {
  const counts = new Map<number, number>();
  for (const m of sent) counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
  for (const ack of acks) {
    const count = ack.topic === topic ? (counts.get(ack.partition) ?? 0) : 0;
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
