// What a librdkafka producer's events say, kept for the moment a call on it fails: the first
// record librdkafka reported failed, a login refused while the producer opened, and librdkafka's
// latest complaint from its log. A failed call is named from them (`describeFailure`).
import type { LibrdKafkaError, Producer } from '@confluentinc/kafka-javascript';
import { AuthenticationError, OperationTimeoutError, TransientError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { isAuthenticationFailure, producerErrorFromLibrdkafka } from './errors.ts';
import type { RdKafkaModule } from './load.ts';

/** What librdkafka's events told us about one producer (its delivery-report bookkeeping included). */
interface ProducerEvents {
  /** The first record librdkafka reported failed: the transaction cannot commit. */
  recordFailure: LibrdKafkaError | undefined;
  /**
   * librdkafka said a login was refused while the producer was opening (its error events carry a
   * message, not the code). Only then does it name the failure: once the transaction is open, a
   * refused login (a new leader's connection after a rotation) stalls records, the try fails
   * retryably, and the next producer's refused login re-reads the secret (event-producer.ts).
   */
  authFailed: boolean;
  /** The transaction is open: a refused login no longer sets `authFailed`. */
  opened: boolean;
  /** librdkafka's latest complaint, from its log (a refused login, a failed TLS handshake, a refused connection). */
  lastProblem: string | undefined;
  /**
   * A newer producer with this transactional id fenced this one (a fatal error event). Every later
   * failure follows from it: records still queued come back "purged", which alone reads transient.
   * Calls that fail after the event (the abort among them) are named the fence here; a send that
   * failed before the event arrived is re-read as the fence by the abort (kafka/transaction.ts).
   */
  fenced: LibrdKafkaError | undefined;
}

/** Starts keeping what `producer`'s events say (and logs them at debug level). */
export function watchProducerEvents(rd: RdKafkaModule, producer: Producer, logger: Logger): ProducerEvents {
  const events: ProducerEvents = {
    recordFailure: undefined,
    authFailed: false,
    opened: false,
    lastProblem: undefined,
    fenced: undefined,
  };
  const fencedCode = rd.CODES.ERRORS.ERR__FENCED;
  producer.on('delivery-report', (err) => {
    if (err) events.recordFailure ??= err;
  });
  producer.on('event.error', (err) => {
    if (!events.opened && (isAuthenticationFailure(rd, err) || /authentication failure/i.test(err.message))) {
      events.authFailed = true;
    }
    // The binding raises librdkafka's fatal error with code -1 and its text: matched on both.
    if (err.code === fencedCode || /fenced by a newer instance/i.test(err.message)) events.fenced ??= err;
    events.lastProblem ??= err.message;
    // librdkafka retries these itself (a broker down, a connection reset); a failed call says so.
    logger.debug('librdkafka error event', { code: err.code, error: err.message });
  });
  producer.on('event.log', (log: { severity?: number; fac?: string; message?: string }) => {
    // Severity 3 and 4 (error, warning) say why a connection failed; drop librdkafka's thread tag.
    if ((log.severity ?? 7) <= 4 && log.message) events.lastProblem = log.message.replace(/^\[thrd:[^\]]*\]: /, '');
    logger.debug(`librdkafka: ${log.message}`, { facility: log.fac, severity: log.severity });
  });
  return events;
}

/** Maps a failed librdkafka call (`what`) onto our errors, adding what the producer's events said. */
export function describeFailure(
  rd: Pick<RdKafkaModule, 'CODES'>,
  events: Readonly<ProducerEvents>,
  err: unknown,
  what: string,
): Error {
  // A refused SASL login shows up as an event while the call itself just fails to connect.
  if (events.authFailed) {
    return new AuthenticationError(
      `Kafka refused the credentials from the Kafka secret while ${what}: ${events.lastProblem ?? 'authentication failure'}`,
    );
  }
  if (events.fenced) {
    const { message } = events.fenced;
    return producerErrorFromLibrdkafka(rd, { code: rd.CODES.ERRORS.ERR__FENCED, isFatal: true, message }, what);
  }
  const mapped = err instanceof OperationTimeoutError ? err : producerErrorFromLibrdkafka(rd, err, what);
  // "broker transport failure" says little; librdkafka's last event says why (refused, TLS, ...).
  const why = events.lastProblem;
  const message = `${mapped.message}; librdkafka reports: ${why}`;
  if (why && !mapped.message.includes(why)) {
    if (mapped.constructor === OperationTimeoutError) return new OperationTimeoutError(message, { cause: err });
    if (mapped.constructor === TransientError) return new TransientError(message, { cause: err });
  }
  return mapped;
}
