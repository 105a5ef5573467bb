// The engine's errors, split by whether retrying can help (as kafkajs splits KafkaJSError from
// KafkaJSNonRetriableError). Class names are a contract: the workflow lists the non-retryable
// ones in `nonRetryableErrorTypes`, and Temporal matches them by name.

export abstract class ProducerError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient failure: the broker, registry or Secrets Manager was unreachable or slow. */
export class TransientError extends ProducerError {
  readonly retryable = true;
}

/** A failure no retry fixes: the workflow does not retry the activity (NON_RETRYABLE_ERROR_TYPES). */
export class FinalError extends ProducerError {
  readonly retryable = false;
}

/** A bounded wait ran out (a broker or registry that stopped answering). Retryable. */
export class OperationTimeoutError extends TransientError {}

/** A setting is missing or malformed. */
export class ConfigError extends FinalError {}

/** A secret is missing, is not JSON, or lacks a key. Names the secret and key, never the value. */
export class SecretError extends FinalError {}

/** Kafka, the registry or PostgreSQL refused the credentials, also after re-reading the secret once. */
export class AuthenticationError extends FinalError {}

/** The registry refused the schema as incompatible with the subject's history. */
export class SchemaIncompatibleError extends FinalError {}

/** Auto-registration is off and the schema is not registered under the subject. */
export class SchemaNotRegisteredError extends FinalError {}

/** The topic does not exist (auto-creation is off on the cluster). */
export class TopicNotFoundError extends FinalError {}

/** The input to a run is invalid (for example eventCount out of range). */
export class InvalidInputError extends FinalError {}

/** The broker refused records for a reason retrying will not change. */
export class DeliveryRejectedError extends FinalError {}

/** The run ledger holds a record it cannot read: guessing could produce a run twice. */
export class LedgerError extends FinalError {}

/**
 * The ledger says this run (same topic, origin and nominal time) was produced with another request:
 * answering "already produced" would be wrong, producing again would duplicate the run.
 */
export class RunRequestChangedError extends FinalError {}

/** The run's nominal time is older than the ledger keeps records: it can no longer tell whether it was produced. */
export class LedgerRetentionError extends FinalError {}

/** The run ledger could not be read to its end in time (an open transaction, a slow broker). Retryable. */
export class LedgerUnavailableError extends TransientError {}

/** A newer producer of the same run took over (this attempt is a zombie). Retryable: the next attempt finds the ledger. */
export class ProducerFencedError extends TransientError {}

/**
 * The transaction coordinator was still completing another producer's transaction with our id
 * (CONCURRENT_TRANSACTIONS, left after the client's own retries): another run of the same
 * transactional id is opening at the same time. Retryable by a new attempt, but never restarted
 * within one: restarting at once would fence that run back, and two runs doing so fence each other
 * in turn.
 */
export class ConcurrentTransactionError extends TransientError {}

/** The event source (the outbox's PostgreSQL) could not be reached or answered too slowly. Retryable. */
export class SourceUnavailableError extends TransientError {}

/**
 * The run names another source than the one this worker publishes (a rollout with workers of two
 * sources on one task queue, a schedule applied for another deployment): publishing it here would
 * write the wrong events to the topic.
 */
export class SourceMismatchError extends FinalError {}

/** The event source's database answered with an error no retry fixes (SQLSTATE outside the transient classes). */
export class SourceQueryError extends FinalError {}

/**
 * The source's recorded position does not belong to the source as it is now (another database, a
 * restore, a slot dropped, invalidated or advanced past it): reading on could skip or repeat events.
 */
export class SourcePositionError extends FinalError {}

/**
 * The source is being read by someone else who may not be overtaken: a following relay streams its
 * slot, so a scheduled run (or a second follower) is refused instead of interleaving with it.
 */
export class SourceBusyError extends FinalError {}

/** Kafka refused a request for a reason retrying will not change (a setting, an authorisation, a version). */
export class KafkaRequestRejectedError extends FinalError {}

/** Names of every non-retryable error class, for Temporal's `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_ERROR_TYPES = [
  ConfigError.name,
  SecretError.name,
  AuthenticationError.name,
  SchemaIncompatibleError.name,
  SchemaNotRegisteredError.name,
  TopicNotFoundError.name,
  InvalidInputError.name,
  DeliveryRejectedError.name,
  LedgerError.name,
  RunRequestChangedError.name,
  LedgerRetentionError.name,
  KafkaRequestRejectedError.name,
  SourceMismatchError.name,
  SourceQueryError.name,
  SourcePositionError.name,
  SourceBusyError.name,
] as const;

export function errorMessage(err: unknown): string {
  return redactUrls(err instanceof Error ? err.message : String(err));
}

/** A URL scheme and its `//` (`https://`, `sasl+ssl://`). */
const URL_SCHEME = '[a-z][a-z0-9+.-]*://';
/**
 * One character of a URL's text after the scheme: anything but what cannot be in a URL and ends one in
 * a message (white space, `"`, `<`, `>`, `` ` ``), and not the `,` or `;` before a second URL in a list.
 */
const URL_CHAR = `(?![,;]${URL_SCHEME})[^\\s"<>\`]`;
/**
 * A scheme (starting where a run of scheme characters starts, so a long `a.b.c` costs one try, not
 * one per letter), then the rest of the URL, all of it: the callback finds the user-info's end.
 */
const URL_TEXT = new RegExp(`(?<![a-z0-9+.-])([a-z0-9+.-]*://)((?:${URL_CHAR})*)`, 'gi');

/**
 * Replaces the user-info of every URL in `text` (`https://user:pass@host` → `https://***@host`). The
 * user-info ends at the LAST `@` in the URL, since a password may hold `/`, `@`, `:` or `%40`; a URL
 * whose path holds an `@` loses the text before it too (printing less is the safe way to be wrong).
 */
export function redactUrls(text: string): string {
  return text.replace(URL_TEXT, (url, scheme: string, rest: string) => {
    const at = rest.lastIndexOf('@');
    return at < 0 ? url : `${scheme}***${rest.slice(at)}`;
  });
}
