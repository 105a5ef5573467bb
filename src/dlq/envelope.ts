// The dead-letter envelope (schemas/OrderEventDeadLetter.avsc): the original event as JSON,
// what went wrong, where, and which run it came from.

export interface RunAttempt {
  workflowId: string;
  runId: string;
  attempt?: number;
}

export interface DeadLetter {
  original_event: string;
  error_class: string;
  error_message: string;
  field_paths: string[];
  source_topic: string;
  failed_at: number;
  workflow_id: string | null;
  run_id: string | null;
  attempt: number | null;
}

/**
 * Why an event was dead-lettered: the envelope's `error_class`. The values are a contract with
 * whoever reads the dead-letter topic (they filter on them), so they never change.
 */
export const DeadLetterReason = {
  /** The event does not match the OrderEvent schema; `field_paths` names the fields. */
  invalid: 'SchemaValidationError',
  /** avsc could not encode a value the validator accepted. */
  unencodable: 'SerializationError',
  /** The record is larger than the topic takes (max.message.bytes) or KAFKA_MAX_MESSAGE_BYTES. */
  tooLarge: 'RecordTooLargeError',
  /** created_at is outside the window of timestamps the topic takes (message.timestamp.before/after.max.ms). */
  timestampOutOfRange: 'TimestampOutOfRangeError',
} as const;
export type DeadLetterReason = (typeof DeadLetterReason)[keyof typeof DeadLetterReason];

export interface DeadLetterFailure {
  reason: DeadLetterReason;
  message: string;
  fieldPaths?: string[];
}

export function deadLetter(
  event: unknown,
  failure: DeadLetterFailure,
  sourceTopic: string,
  failedAt: number,
  run?: RunAttempt,
): DeadLetter {
  return {
    original_event: safeJson(event),
    error_class: failure.reason,
    error_message: failure.message,
    field_paths: failure.fieldPaths ?? [],
    source_topic: sourceTopic,
    failed_at: failedAt,
    workflow_id: run?.workflowId ?? null,
    run_id: run?.runId ?? null,
    attempt: run?.attempt ?? null,
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
