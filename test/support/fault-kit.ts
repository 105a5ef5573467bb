// What the fault and failover suites share: a scenario (its own topics, task queue and worker
// processes with short timeouts), "mid-send" detection from outside, and the exactly-once tally
// with a read_committed consumer, written to a table file for the record.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RunSummary } from '../../src/activities/types.ts';
import type { App } from '../../src/app.ts';
import type { Config } from '../../src/config/index.ts';
import { createHighWatermarks } from '../../src/kafka/high-watermarks.ts';
import type { OrderEvent } from '../../src/schema/order-event.ts';
import { createTopicsFor, readDecoded, testApp, testConfig } from './app.ts';
import { plaintextKafka, uniqueName } from './services.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

/** Short heartbeat timeout (a dead or frozen worker is replaced in seconds); every bound within half of it. */
export const FAST = {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS: '6000',
  ACTIVITY_START_TO_CLOSE_TIMEOUT_MS: '120000',
  KAFKA_CONNECTION_TIMEOUT_MS: '3000',
  KAFKA_REQUEST_TIMEOUT_MS: '3000',
  KAFKA_SEND_TIMEOUT_MS: '3000',
  KAFKA_LEDGER_TIMEOUT_MS: '3000',
  REGISTRY_TIMEOUT_MS: '2000',
  SECRETS_TIMEOUT_MS: '1000',
  // Small batches: a 40,000-event run takes seconds, long enough to strike mid-send.
  KAFKA_BATCH_MAX_MESSAGES: '200',
};

export interface Row {
  scenario: string;
  expected: number;
  seen: number;
  duplicates: number;
  missing: number;
  recoverMs: number;
  /** Temporal attempts the run used (1: it never needed a retry). */
  attempts?: number;
  errors?: string[];
}

export function createFaultKit(client: Client, tableFile: string) {
  const workers: WorkerProcess[] = [];
  const apps: App[] = [];
  const table: Row[] = [];

  async function scenario(extraEnv: Record<string, string> = {}) {
    const config = testConfig({ ...FAST, ...extraEnv });
    await createTopicsFor(config);
    const app = testApp(config);
    apps.push(app);
    const taskQueue = uniqueName('tq-fault');
    /** A worker process; with `fault`, test/support/fault-worker.ts injects it around the real engine. */
    const worker = async (env: Record<string, string> = {}, fault?: 'pause-after-commit') => {
      const entry = fault ? 'test/support/fault-worker.ts' : 'src/worker.ts';
      const w = await startWorkerProcess(
        config,
        taskQueue,
        { ...FAST, ...extraEnv, ...env, ...(fault ? { FAULT: fault } : {}) },
        entry,
      );
      workers.push(w);
      return w;
    };
    /** Starts a run by hand; `startDelay` holds its first workflow task back (its slot is known at once). */
    const start = (eventCount: number, options: { startDelay?: string } = {}) =>
      client.workflow.start('produceOrderEventsWorkflow', {
        taskQueue,
        workflowId: uniqueName('wf-fault'),
        args: [{ eventCount }],
        // A run that never ends (no worker left, a stuck attempt) fails the test instead of hanging the suite.
        workflowExecutionTimeout: '6 minutes',
        ...options,
      }) as Promise<WorkflowHandle<() => Promise<RunSummary>>>;
    return { config, app, worker, start, taskQueue };
  }

  /** Counts the run's order ids (read_committed) against the ids it must have: each exactly once. */
  async function tally(
    name: string,
    app: App,
    summary: RunSummary,
    recoverMs: number,
    errors?: string[],
    attempts?: number,
    /** Other runs on the same topic: each must be there exactly once too. */
    otherRuns: RunSummary[] = [],
  ) {
    // Large runs (up to a million events) take a while to read back on a busy machine.
    const timeoutMs = 30_000 + (summary.eventCount + otherRuns.reduce((n, r) => n + r.eventCount, 0)) / 5;
    const seen = (await readDecoded<OrderEvent>(app, app.config.kafka.topic, { timeoutMs })).map((r) =>
      String(r.decoded.order_id),
    );
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    // A run's order ids: its block, from its first id (the same in every attempt of the run).
    const missingOf = (run: RunSummary) => {
      let missing = 0;
      const first = BigInt(run.firstOrderId ?? NaN);
      for (let i = 0; i < run.eventCount; i++) if (!counts.has(String(first + BigInt(i)))) missing++;
      return missing;
    };
    const missing = missingOf(summary);
    const others = otherRuns.reduce((n, run) => n + run.eventCount, 0);
    for (const run of otherRuns) assert.equal(missingOf(run), 0, `${name}: events of an earlier run missing`);
    const duplicates = seen.length - counts.size;
    table.push({
      scenario: name,
      expected: summary.eventCount,
      seen: seen.length - others,
      duplicates,
      missing,
      recoverMs,
      ...(attempts === undefined ? {} : { attempts }),
      ...(errors ? { errors } : {}),
    });
    assert.equal(duplicates, 0, `${name}: ${duplicates} duplicate events`);
    assert.equal(missing, 0, `${name}: ${missing} missing events`);
    assert.equal(seen.length, summary.eventCount + others);
  }

  /**
   * Stops the workers and closes the clients of the scenarios so far: idle workers keep polling
   * Temporal and reading their ledgers, and on a 2-core machine a suite's worth of them slowed
   * later scenarios several times over.
   */
  async function release() {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop()));
    await Promise.allSettled(apps.splice(0).map((a) => a.close()));
  }

  async function close() {
    await release();
    mkdirSync('artifacts', { recursive: true });
    writeFileSync(tableFile, `${JSON.stringify(table, null, 2)}\n`);
  }

  return { scenario, tally, release, close };
}

/** Waits until records of the run are on the events topic, uncommitted: the attempt is mid-send. */
export async function midSend(config: Config): Promise<void> {
  const marks = createHighWatermarks(plaintextKafka());
  try {
    for (let i = 0; i < 600; i++) {
      const ends = await marks.ends(config.kafka.topic);
      if ([...ends.values()].reduce((a, b) => a + b, 0) > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the run never started sending');
  } finally {
    await marks.close();
  }
}

export async function attemptsOf(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (
    history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt ?? 0
  );
}

/** The failures of the run's attempts as the worker logged them (what the client saw). */
export function failuresIn(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const restart = line.includes('"message":"slot transaction restarted');
    if (!restart && !line.includes('"message":"Activity failed"')) continue;
    try {
      const { error } = JSON.parse(line) as { error?: { name?: string; type?: string; message?: string } };
      const what = restart ? 'restart' : 'attempt failed';
      out.push(`${what}: ${error?.type ?? error?.name ?? 'Error'}: ${(error?.message ?? '').slice(0, 140)}`);
    } catch {
      out.push(line.slice(0, 200));
    }
  }
  return out;
}
