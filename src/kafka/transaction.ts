// One transaction's life, the same for every backend: check cancellation, run the caller's work,
// check again, commit; abort when the work failed; close the producer whatever happened.
//
// A failed commit is not aborted unless the client says the transaction needs it (librdkafka's
// txn_requires_abort): otherwise the commit may have gone through, or may still complete on the
// coordinator, and an abort can neither undo it nor be told apart from it. The producer is
// closed instead; the next producer with the run's transactional id fences it, which completes or
// aborts whatever it left, and then the run ledger says which happened (src/engine/index.ts).
import { ProducerFencedError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BackendTransaction, ProducerTransaction, TransactionOptions } from './backend.ts';

export async function runTransaction<T>(
  tx: BackendTransaction,
  options: TransactionOptions,
  work: (tx: ProducerTransaction) => Promise<T>,
  logger: Logger,
): Promise<T> {
  const abort = async () => {
    options.observe?.aborted();
    await tx.abort().catch((err: unknown) => {
      // The next producer with this id aborts it (fencing this one), and the broker after its timeout.
      if (err instanceof ProducerFencedError) return logIfFenced(err, options, logger);
      logger.warn('aborting the Kafka transaction failed', { error: errorMessage(err) });
    });
  };
  try {
    let result: T;
    try {
      options.throwIfCancelled?.();
      result = await work({ send: (batches) => tx.send(batches) });
      options.throwIfCancelled?.();
    } catch (err) {
      logIfFenced(err, options, logger);
      await abort();
      throw err;
    }
    logger.debug('committing the Kafka transaction', { transactionalId: options.transactionalId });
    const started = performance.now();
    const committed = await tx.commit();
    if (!committed.ok) {
      logIfFenced(committed.error, options, logger);
      if (committed.mustAbort) await abort();
      else
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

/** A zombie's refusal, said once in its own log: what it sent will never be visible. */
function logIfFenced(err: unknown, options: TransactionOptions, logger: Logger): void {
  if (!(err instanceof ProducerFencedError)) return;
  logger.warn('fenced: a newer attempt of this run took over; nothing this attempt sent becomes visible', {
    transactionalId: options.transactionalId,
  });
}
