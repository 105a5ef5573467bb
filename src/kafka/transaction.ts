// One transaction's life, the same for every backend: check cancellation, run the caller's work,
// check again, commit; abort when the work failed; close the producer whatever happened.
//
// A failed commit is not aborted unless the client says the transaction needs it (librdkafka's
// txn_requires_abort): otherwise the commit may have gone through, or may still complete on the
// coordinator, and an abort can neither undo it nor be told apart from it. The producer is
// closed instead; the next producer with the run's transactional id fences it, which completes or
// aborts whatever it left, and then the run ledger says which happened (src/engine/index.ts).
import { ProducerFencedError, TransientError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BackendTransaction, ProducerTransaction, TransactionOptions } from './backend.ts';

export async function runTransaction<T>(
  tx: BackendTransaction,
  options: TransactionOptions,
  work: (tx: ProducerTransaction) => Promise<T>,
  logger: Logger,
): Promise<T> {
  let saidFenced = false;
  /** A zombie's refusal, said once in its own log: what it sent will never be visible. */
  const logIfFenced = (err: unknown) => {
    if (!(err instanceof ProducerFencedError) || saidFenced) return;
    saidFenced = true;
    logger.warn('fenced: a newer attempt of this run took over; nothing this attempt sent becomes visible', {
      transactionalId: options.transactionalId,
    });
  };
  /** Aborts; answers the fence when the abort was refused because a newer producer took over. */
  const abort = async (): Promise<ProducerFencedError | undefined> => {
    options.observe?.aborted();
    try {
      await tx.abort();
    } catch (err) {
      // The next producer with this id aborts it (fencing this one), and the broker after its timeout.
      if (err instanceof ProducerFencedError) {
        logIfFenced(err);
        return err;
      }
      logger.warn('aborting the Kafka transaction failed', { error: errorMessage(err) });
    }
    return undefined;
  };
  try {
    let result: T;
    try {
      options.throwIfCancelled?.();
      result = await work({ send: (batches) => tx.send(batches) });
      options.throwIfCancelled?.();
    } catch (err) {
      logIfFenced(err);
      throw asFence(err, await abort());
    }
    logger.debug('committing the Kafka transaction', { transactionalId: options.transactionalId });
    const started = performance.now();
    const committed = await tx.commit();
    if (!committed.ok) {
      logIfFenced(committed.error);
      if (committed.mustAbort) throw asFence(committed.error, await abort());
      logger.warn('the Kafka commit failed; its outcome is settled by the next attempt', {
        error: errorMessage(committed.error),
      });
      throw committed.error;
    }
    options.observe?.committed((performance.now() - started) / 1000);
    return result;
  } finally {
    await tx.close();
  }
}

/**
 * A retryable failure that the abort shows came from a fence is the fence: on librdkafka a fenced
 * producer's queued records come back "purged" and its next send "Local: Fatal error", before the
 * fatal event that names the fence. Read as transient, the attempt would restart and fence the
 * producer that took over; a fence is never restarted inside the attempt (engine/restarts.ts).
 */
function asFence(err: unknown, fenced: ProducerFencedError | undefined): unknown {
  if (!fenced || !(err instanceof TransientError) || err instanceof ProducerFencedError) return err;
  return new ProducerFencedError(`${fenced.message} (the attempt had failed with: ${errorMessage(err)})`, {
    cause: err,
  });
}
