// Activity and workflow contract types. Workflow code imports only this file from activities.

export interface ProduceOrderEventsInput {
  eventCount: number;
}

export interface ProduceEventsInput {
  eventCount: number;
  /** The run's event time: TemporalScheduledStartTime when scheduled, the workflow start time otherwise. */
  nominalTimeMs: number;
}

export interface PartitionSummary {
  partition: number;
  /** Null only in a report read back from the run ledger (see LedgerReport). */
  firstOffset: number | null;
  lastOffset: number | null;
  count: number;
}

export interface ProduceEventsResult {
  topic: string;
  acknowledged: number;
  deadLettered: number;
  dlqTopic: string;
  partitions: PartitionSummary[];
  schemaId: number;
  durationMs: number;
  /** True when an earlier attempt of this run had already committed and nothing was re-sent. */
  alreadyCommitted: boolean;
  firstOrderId: string;
  lastOrderId: string;
}

export interface RunSummary extends ProduceEventsResult {
  eventCount: number;
  nominalTime: string;
  /** One readable line for people (the Temporal UI shows it as the run's details). */
  summary: string;
}

export interface Limits {
  maxEventCount: number;
}

export interface ProduceActivities {
  produceEvents(input: ProduceEventsInput): Promise<ProduceEventsResult>;
  limits(): Promise<Limits>;
}
