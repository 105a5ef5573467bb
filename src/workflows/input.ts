// The workflow's input, checked inside the workflow (deterministic, no I/O) before any activity
// is scheduled. Kept out of index.ts: every function that module exports is a workflow type.
import { ApplicationFailure } from '@temporalio/workflow';

const invalidInput = (message: string) =>
  ApplicationFailure.create({ type: 'InvalidInputError', nonRetryable: true, message });

/**
 * The run's event count from the workflow input: no input means 10 events; anything but an object
 * whose only field is an integer `eventCount` in range is refused, naming what is wrong (a typo
 * such as {"count":5} must not silently produce the default 10).
 */
export function eventCountOf(input: unknown, maxEventCount: number): number {
  if (input === undefined) return 10;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidInput(`the input must be an object like {"eventCount": 10}, got ${JSON.stringify(input)}`);
  }
  const unknown = Object.keys(input).filter((k) => k !== 'eventCount');
  if (unknown.length > 0) {
    throw invalidInput(
      `the input has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; its only field is "eventCount"`,
    );
  }
  if (!('eventCount' in input)) return 10;
  const { eventCount } = input;
  if (typeof eventCount !== 'number' || !Number.isInteger(eventCount) || eventCount < 1 || eventCount > maxEventCount) {
    throw invalidInput(`eventCount must be an integer from 1 to ${maxEventCount}, got ${JSON.stringify(eventCount)}`);
  }
  return eventCount;
}
