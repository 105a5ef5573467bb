// The workflow's input, checked inside the workflow (deterministic, no I/O) before any activity
// is scheduled. Kept out of index.ts: every function that module exports is a workflow type.
import { ApplicationFailure } from '@temporalio/workflow';

const invalidInput = (message: string) =>
  ApplicationFailure.create({ type: 'InvalidInputError', nonRetryable: true, message });

const FIELDS = ['eventCount', 'source'];

/** A source's name as OUTBOX_SOURCE_NAME allows it (and `generator`). */
const SOURCE_NAME = /^[A-Za-z0-9._:/-]{1,200}$/;

/** What a run asks for: how many events, and (when named) which source they must come from. */
export interface RunInput {
  eventCount: number;
  source?: string;
}

/**
 * The run's input: no input means 10 events from whatever source the worker publishes; anything but
 * an object with an integer `eventCount` in range and an optional `source` name is refused, naming
 * what is wrong (a typo such as {"count":5} must not silently produce the default 10).
 */
export function runInputOf(input: unknown, maxEventCount: number): RunInput {
  if (input === undefined) return { eventCount: 10 };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidInput(`the input must be an object like {"eventCount": 10}, got ${JSON.stringify(input)}`);
  }
  const unknown = Object.keys(input).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) {
    throw invalidInput(
      `the input has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; its fields are "eventCount" and "source"`,
    );
  }
  const { eventCount = 10, source } = input as { eventCount?: unknown; source?: unknown };
  if (typeof eventCount !== 'number' || !Number.isInteger(eventCount) || eventCount < 1 || eventCount > maxEventCount) {
    throw invalidInput(`eventCount must be an integer from 1 to ${maxEventCount}, got ${JSON.stringify(eventCount)}`);
  }
  if (source === undefined) return { eventCount };
  if (typeof source !== 'string' || !SOURCE_NAME.test(source)) {
    throw invalidInput(
      `source must be a source's name ("generator", or an outbox's OUTBOX_SOURCE_NAME such as "outbox:order_outbox"), got ${JSON.stringify(source)}`,
    );
  }
  return { eventCount, source };
}
