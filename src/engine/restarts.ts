// Restarting a run's transaction after a transient Kafka failure, without spending one of
// Temporal's attempts on a blip.
import { ConcurrentTransactionError, LedgerUnavailableError, ProducerFencedError, TransientError } from '../errors.ts';
import type { Logger } from '../logger.ts';

interface RestartPolicy {
  /** How many times the transaction may be restarted before the attempt fails. */
  restarts: number;
  logger: Logger;
  /** The run's ledger key, for the log line. */
  run: string;
  throwIfCancelled?: () => void;
}

/**
 * Runs `transaction` again after a transient Kafka failure (a leader or coordinator that moved,
 * too few replicas in sync), up to `policy.restarts` times with a growing pause. Each try is a
 * new producer with the run's transactional id (fenced, ledger-checked, resent from the start),
 * exactly as a new attempt would be.
 */
export async function withRestarts<T>(transaction: () => Promise<T>, policy: RestartPolicy): Promise<T> {
  for (let restart = 0; ; restart++) {
    try {
      return await transaction();
    } catch (err) {
      if (!isRestartable(err) || restart >= policy.restarts) throw err;
      policy.throwIfCancelled?.();
      const pauseMs = 250 * 2 ** restart;
      policy.logger.warn('run transaction restarted after a transient failure', {
        run: policy.run,
        restart: restart + 1,
        of: policy.restarts,
        pauseMs,
        error: err,
      });
      await new Promise((r) => setTimeout(r, pauseMs));
      // Again after the pause: a process resumed from a freeze runs its overdue timers first, and
      // a cancelled (replaced) attempt that restarted now would fence the live attempt of its run.
      policy.throwIfCancelled?.();
    }
  }
}

/**
 * Not after a fence, nor while another producer of the id is opening or ending its transaction: a
 * newer attempt of the run took over, and restarting at once would fence it back.
 */
function isRestartable(err: unknown): boolean {
  return (
    err instanceof TransientError &&
    !(err instanceof ProducerFencedError) &&
    !(err instanceof ConcurrentTransactionError) &&
    !(err instanceof LedgerUnavailableError)
  );
}
