// The Temporal Web UI, in a real headless Chromium: a completed run shows what it produced.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import type { RunSummary } from '../src/activities/types.ts';
import type { App } from '../src/app.ts';
import { createTopicsFor, testApp, testConfig } from './support/app.ts';
import { requireService, temporalUiUrl, uniqueName } from './support/services.ts';
import { startWorker, temporalClient, type TestWorker } from './support/worker.ts';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT = 'artifacts/temporal-ui-run.png';

let app: App;
let worker: TestWorker;
let browser: Browser;

before(async () => {
  await requireService('Temporal Web UI', () => fetch(temporalUiUrl(), { signal: AbortSignal.timeout(5000) }));
  const config = testConfig();
  await createTopicsFor(config);
  app = testApp(config);
  worker = await startWorker(app);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  await app?.close();
});

test('a completed run shows its summary (count, topic, partitions and offsets, dead-lettered) in the UI', async () => {
  const client = await temporalClient();
  const workflowId = uniqueName('ui-run');
  const summary = (await client.workflow.execute('produceOrderEventsWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [{ eventCount: 3 }],
  })) as RunSummary;
  await client.connection.close();

  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.goto(`${temporalUiUrl()}/namespaces/default/workflows/${workflowId}`, { waitUntil: 'domcontentloaded' });
  // The run's details: "Produced 3 events to <topic> (p<n>:<first>-<last> ...), 0 dead-lettered to <dlq>".
  const details = page.getByText(summary.summary, { exact: false }).first();
  await details.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(summary.summary, /^Produced 3 events to .* \(p\d+:\d+-\d+.*\), 0 dead-lettered to /);
  await page.getByText('Completed', { exact: false }).first().waitFor({ state: 'visible', timeout: 10_000 });
  mkdirSync('artifacts', { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await page.close();
});
