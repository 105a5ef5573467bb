// What a failed registry request means to the engine, decided in one place (as the Confluent
// client funnels every response through one error handler). The error's class decides whether
// the activity retries; the message names the operation and subject, never a credential.
import {
  AuthenticationError,
  SchemaIncompatibleError,
  SchemaNotRegisteredError,
  TransientError,
  errorMessage,
} from '../errors.ts';
import type { Compatibility } from './registry-constants.ts';

/** The operation a request belongs to: the same status means different things to each. */
export type RegistryCall =
  | { op: 'register' | 'lookup' | 'checkCompatibility'; subject: string }
  | { op: 'setCompatibility'; subject: string; level: Compatibility }
  | { op: 'schemaById'; id: number };

/**
 * A status no rule gives a meaning (a 400, a 404 from a wrong base path, ...). Not a ProducerError,
 * so the activity retries it like any unknown error; status and error code stay for diagnosis.
 */
class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The call in words, for messages: "registering the schema under order-events-value". */
function describeCall(call: RegistryCall): string {
  switch (call.op) {
    case 'register':
      return `registering the schema under ${call.subject}`;
    case 'lookup':
      return `looking up the schema under ${call.subject}`;
    case 'checkCompatibility':
      return `checking compatibility with ${call.subject}`;
    case 'setCompatibility':
      return `setting ${call.level} on ${call.subject}`;
    case 'schemaById':
      return `reading schema ${call.id}`;
  }
}

/**
 * The error for a failed answer; a refused login (401/403) is an AuthenticationError, which the
 * client answers by re-reading the secret once (`withReread`). Statuses a call treats as an answer (a 404 on a
 * lookup: not registered) never reach it.
 */
export function registryError(
  status: number,
  errorCode: number | undefined,
  message: string | undefined,
  call: RegistryCall,
): Error {
  const what = describeCall(call);
  if (status === 401 || status === 403) {
    return new AuthenticationError(
      `schema registry refused the credentials from the registry secret during ${what} (HTTP ${status})`,
    );
  }
  if (status >= 500 || status === 429) {
    return new TransientError(`schema registry error during ${what}: HTTP ${status} ${message ?? ''}`.trim());
  }
  // 409: incompatible with the subject's history; 422: not a valid schema. Retrying cannot help.
  if (call.op === 'register' && (status === 409 || status === 422)) {
    return new SchemaIncompatibleError(
      `schema registry rejected the schema for subject ${call.subject} (HTTP ${status}): ${message ?? 'no message'}`,
    );
  }
  if (call.op === 'schemaById' && status === 404) {
    return new SchemaNotRegisteredError(`schema id ${call.id} is not known to the registry`);
  }
  return new RegistryHttpError(status, errorCode, `${what}: HTTP ${status} ${message ?? ''}`.trim());
}

/** No answer at all: the registry is down, unreachable, or slower than the timeout. Retryable. */
export function unreachableError(err: unknown, call: RegistryCall, url: string, timeoutMs: number): TransientError {
  const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : errorMessage(err);
  const where = `${describeCall(call)} (${new URL(url).host})`;
  return new TransientError(`schema registry unreachable during ${where}: ${reason}`, { cause: err });
}
