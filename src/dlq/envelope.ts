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
    error_message: bounded(failure.message, MAX_MESSAGE_CHARS),
    field_paths: boundedPaths(failure.fieldPaths ?? []),
    source_topic: sourceTopic,
    failed_at: failedAt,
    workflow_id: run?.workflowId ?? null,
    run_id: run?.runId ?? null,
    attempt: run?.attempt ?? null,
  };
}

// An event with thousands of unknown fields must still fit its dead letter in the topic: the
// message and the paths are bounded here, the original event is cut to the room left (batch-encoder).
const MAX_MESSAGE_CHARS = 4096;
const MAX_FIELD_PATHS = 100;
const MAX_PATH_CHARS = 256;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function boundedPaths(paths: string[]): string[] {
  const kept = paths.slice(0, MAX_FIELD_PATHS).map((p) => bounded(p, MAX_PATH_CHARS));
  return paths.length > MAX_FIELD_PATHS ? [...kept, `… ${paths.length - MAX_FIELD_PATHS} more`] : kept;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
