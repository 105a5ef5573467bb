// The commands users run, as child processes with the real services.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { sampleEvents } from './fixtures/events.ts';
import type { RunSummary } from '../src/activities/types.ts';
import { envFor, produceOnce, testApp, testConfig } from './support/app.ts';
import { uniqueName } from './support/services.ts';
import { temporalClient } from './support/worker.ts';

const run = promisify(execFile);

async function cli(script: string, args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('topics ensure creates the three topics, then finds them (idempotent)', async () => {
  const config = testConfig();
  const env = envFor(config);
  const first = await cli('src/cli/topics.ts', ['ensure'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`${config.kafka.topic}: created \\(6 partitions`));
  assert.match(first.stdout, /\.runs: created \(6 partitions/);
  const second = await cli('src/cli/topics.ts', ['ensure'], env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal((second.stdout.match(/: exists/g) ?? []).length, 3);
});

test('schema check exits 0 when compatible and 1 with the reason when not; register prints the ids', async () => {
  const config = testConfig();
  const env = envFor(config);
  assert.equal((await cli('src/cli/schema.ts', ['check'], env)).code, 0);
  const registered = await cli('src/cli/schema.ts', ['register'], env);
  assert.equal(registered.code, 0, registered.stderr);
  assert.match(registered.stdout, new RegExp(`registered: ${config.registry.subject} id \\d+`));

  // A subject whose history is incompatible with the local .avsc (order_id was a string there).
  const app = testApp(config);
  const older = JSON.parse(app.orderEventSchema.text) as { fields: { type: unknown }[] };
  older.fields[0]!.type = 'string';
  const other = testConfig();
  await app.registry.setCompatibility(other.registry.subject, 'BACKWARD');
  await app.registry.register(other.registry.subject, JSON.stringify(older));
  await app.close();
  const check = await cli('src/cli/schema.ts', ['check'], envFor(other));
  assert.equal(check.code, 1);
  assert.match(check.stderr, new RegExp(`incompatible with ${other.registry.subject}`));
});

test('a bad setting stops a command with the variable named and exit code 1', async () => {
  const result = await cli('src/cli/topics.ts', ['ensure'], { ...process.env, KAFKA_TOPIC_PARTITIONS: 'many' });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /ConfigError: invalid configuration:\n {2}KAFKA_TOPIC_PARTITIONS: expected an integer, got "many"/,
  );
});

test('verify prints the newest events and per-partition counts; dlq list shows dead letters', async () => {
  const config = testConfig();
  const env = envFor(config);
  assert.equal((await cli('src/cli/topics.ts', ['ensure'], env)).code, 0);
  const app = testApp(config);
  const events = sampleEvents(4, 7000, Date.now());
  await produceOnce(app, [...events, { ...events[0], order_id: 7999, order_status: 'LOST' }]);
  await app.close();

  const verify = await cli('src/cli/verify.ts', ['--minutes', '5'], env);
  assert.equal(verify.code, 0, verify.stderr);
  const lines = verify.stdout.split('\n');
  assert.match(lines[0]!, /^ORDER_ID\s+CUSTOMER_ID\s+ORDER_STATUS\s+ORDER_TOTAL\s+KAFKA_TIMESTAMP/);
  for (const e of events)
    assert.match(verify.stdout, new RegExp(`${e.order_id}\\s+${e.customer_id}\\s+${e.order_status}`));
  assert.match(verify.stdout, /4 event\(s\) in .* from the last 5 min; per partition: p\d+=\d/);

  const dlq = await cli('src/cli/dlq.ts', ['list'], env);
  assert.equal(dlq.code, 0, dlq.stderr);
  assert.match(dlq.stdout, /SchemaValidationError \[order_status\]/);
  assert.match(dlq.stdout, /1 dead-lettered event\(s\)/);
});

/** What a new terminal has: no variable from .stack/env (the user sourced nothing). */
const freshTerminal = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'],
  HOME: process.env['HOME'],
  ...extra,
});

test('commands work from a fresh terminal with nothing sourced: local settings fill what is unset', async () => {
  const config = testConfig();
  // The user's own settings (here: this test's topics) win; the rest comes from .stack/env.
  const topics = {
    KAFKA_TOPIC: config.kafka.topic,
    KAFKA_DLQ_TOPIC: config.kafka.dlqTopic,
    KAFKA_RUNS_TOPIC: config.kafka.runsTopic,
  };
  const ensure = await cli('src/cli/topics.ts', ['ensure'], freshTerminal(topics));
  assert.equal(ensure.code, 0, ensure.stderr);
  assert.match(ensure.stdout, new RegExp(`${config.kafka.topic}: created`));

  // The worker reads the secrets (AWS credentials and endpoint from .stack/env) and runs a workflow.
  const taskQueue = uniqueName('tq-fresh');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: freshTerminal({ ...topics, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const client = await temporalClient();
  try {
    const summary = (await client.workflow.execute('produceOrderEventsWorkflow', {
      taskQueue,
      workflowId: uniqueName('wf-fresh'),
      args: [{ eventCount: 3 }],
      workflowExecutionTimeout: '120s',
    })) as RunSummary;
    assert.equal(summary.acknowledged, 3, output);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await client.connection.close();
  }
  assert.doesNotMatch(output, /"level":"(warn|error)"/, 'a healthy run logs no warning');

  // The temporal CLI the stack built, as the README calls it.
  const temporal = await run('bash', ['stack/temporal.sh', 'operator', 'namespace', 'describe', 'default'], {
    env: freshTerminal(),
  });
  assert.match(temporal.stdout, /NamespaceInfo\.Name\s+default/);
});
