// Smoke tests proving the schema registry speaks the Confluent API and the Temporal server and
// its Web UI are real.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { greet } from './fixtures/smoke-workflows.ts';
import { quietTemporalRuntime } from './support/temporal-runtime.ts';
import { readSecretJson, requireService, temporalAddress, temporalUiUrl, uniqueName } from './support/services.ts';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

describe('schema registry (Confluent API)', () => {
  test('registers an Avro schema and reads it back by id', async () => {
    const { url } = await readSecretJson('confluent/schema-registry');
    assert.ok(url, 'confluent/schema-registry has no url');
    await requireService('schema registry', () => fetch(`${url}/subjects`, { signal: AbortSignal.timeout(5000) }));
    const subject = `${uniqueName('smoke')}-value`;
    const schema = JSON.stringify({
      type: 'record',
      name: 'Smoke',
      namespace: 'test.smoke',
      fields: [{ name: 'id', type: 'long' }],
    });
    const registered = await fetch(`${url}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'Content-Type': CONTENT_TYPE },
      body: JSON.stringify({ schemaType: 'AVRO', schema }),
    });
    assert.equal(registered.status, 200, await registered.clone().text());
    const { id } = (await registered.json()) as { id: number };
    assert.equal(typeof id, 'number');

    const byId = await fetch(`${url}/schemas/ids/${id}`);
    assert.equal(byId.status, 200);
    const body = (await byId.json()) as { schema: string };
    assert.deepEqual(JSON.parse(body.schema), JSON.parse(schema));

    const latest = (await (await fetch(`${url}/subjects/${subject}/versions/latest`)).json()) as {
      id: number;
      version: number;
    };
    assert.equal(latest.id, id);
    assert.equal(latest.version, 1);
  });
});

describe('Temporal', () => {
  test('runs a workflow on the dev server', async () => {
    await requireService('Temporal frontend', async () => {
      const probe = await Connection.connect({ address: temporalAddress(), connectTimeout: 5000 });
      await probe.close();
    });
    quietTemporalRuntime();
    const taskQueue = uniqueName('smoke');
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./fixtures/smoke-workflows.ts', import.meta.url)),
    });
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    const result = await worker.runUntil(
      client.workflow.execute<typeof greet>('greet', {
        taskQueue,
        workflowId: uniqueName('smoke-wf'),
        args: ['temporal'],
      }),
    );
    assert.equal(result, 'hello, temporal');
    await client.connection.close();
    await connection.close();
  });

  test('the Web UI answers on its port and lists the default namespace', async () => {
    const ui = temporalUiUrl();
    await requireService('Temporal Web UI', () => fetch(ui, { signal: AbortSignal.timeout(5000) }));
    const page = await fetch(ui);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const namespaces = (await (await fetch(`${ui}/api/v1/namespaces`)).json()) as {
      namespaces: { namespaceInfo: { name: string } }[];
    };
    assert.ok(namespaces.namespaces.some((n) => n.namespaceInfo.name === 'default'));
  });
});
