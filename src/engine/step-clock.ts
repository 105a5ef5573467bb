// Where a try's time went, step by step (the run's log line and its duration metrics).
/**
 * A try's time per step, in ms: `open` (the producer: connect, register the transactional id,
 * begin), `check` (the run ledger), `produce` (encode and send), `commit` (the commit and close).
 */
export type Step = 'open' | 'check' | 'produce' | 'commit';
export interface StepClock {
  mark(step: Step): void;
  readonly ms: Partial<Record<Step, number>>;
}

export function stepClock(): StepClock {
  let last = performance.now();
  const ms: Partial<Record<Step, number>> = {};
  return {
    ms,
    mark(step) {
      const now = performance.now();
      ms[step] = Math.round((now - last) * 10) / 10;
      last = now;
    },
  };
}
