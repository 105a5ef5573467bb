// librdkafka's errors in the vocabulary src/kafka/errors.ts classifies: broker errors by their
// protocol code (the same table as kafkajs's), librdkafka's local errors (ERR__<NAME>, negative
// codes) by what they mean for an attempt.
import { ProducerError, errorMessage } from '../../errors.ts';
import { classifyKafkaFailure, protocolError } from '../errors.ts';
import type { RdKafkaModule } from './load.ts';

export interface RdError {
  message?: string;
  code?: number;
  isFatal?: boolean;
  isRetriable?: boolean;
  isTxnRequiresAbort?: boolean;
}

/** librdkafka's local errors that name a protocol condition, by that condition's name. */
const LOCAL: Record<string, string> = {
  _UNKNOWN_TOPIC: 'UNKNOWN_TOPIC_OR_PARTITION',
  _UNKNOWN_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  // The broker told this producer that a newer one with its transactional id exists.
  _FENCED: 'PRODUCER_FENCED',
};
const AUTHENTICATION = new Set(['_AUTHENTICATION', 'SASL_AUTHENTICATION_FAILED']);

let names: Map<number, string> | undefined;

/** The error name for a librdkafka code, without the ERR_ prefix (local errors keep one "_"). */
function rdErrorName(rd: Pick<RdKafkaModule, 'CODES'>, code: number): string | undefined {
  names ??= new Map(Object.entries(rd.CODES.ERRORS as Record<string, number>).map(([n, c]) => [c, n.slice(4)]));
  return names.get(code);
}

export function isAuthenticationFailure(rd: Pick<RdKafkaModule, 'CODES'>, err: RdError): boolean {
  return AUTHENTICATION.has(rdErrorName(rd, err.code ?? 0) ?? '');
}

/** Maps a librdkafka error onto ours, naming what we were doing. */
export function producerErrorFromLibrdkafka(
  rd: Pick<RdKafkaModule, 'CODES'>,
  err: unknown,
  what: string,
): ProducerError {
  if (err instanceof ProducerError) return err;
  const e = (err ?? {}) as RdError;
  const code = e.code ?? 0;
  // Broker errors carry the protocol's code: named and judged as for kafkajs. Local errors
  // (timeouts, transport, state) are worth another attempt unless they name a protocol condition.
  const broker = code > 0 ? protocolError(code) : undefined;
  const local = code < 0 ? rdErrorName(rd, code) : undefined;
  return classifyKafkaFailure(
    {
      type: broker?.type ?? (local ? (LOCAL[local] ?? local) : undefined),
      nonRetriable: broker ? !broker.retriable : false,
      authentication: isAuthenticationFailure(rd, e),
      message: e.message ?? errorMessage(err),
      cause: err,
    },
    what,
  );
}
