// The schema-id cache (src/schema/schema-ids.ts) under a race with a registration.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SchemaNotRegisteredError } from '../src/errors.ts';
import type { RegistryClient } from '../src/schema/registry-client.ts';
import { createSchemaIds } from '../src/schema/schema-ids.ts';

describe('schema ids', () => {
  test('a lookup in flight when the schema gets registered is not reused by a caller that came later', async () => {
    let registered = false;
    const pending: ((id: number | undefined) => void)[] = [];
    const registry = {
      lookup: () =>
        registered ? Promise.resolve(42) : new Promise<number | undefined>((resolve) => pending.push(resolve)),
    } as unknown as RegistryClient;
    const ids = createSchemaIds(registry, { autoRegister: false });
    const early = ids.idFor('s', '{}'); // asks while unregistered; its answer is still on its way
    registered = true; // someone registers the schema meanwhile
    const late = ids.idFor('s', '{}');
    pending.shift()!(undefined); // the early lookup answers "not registered", as it was when asked
    await assert.rejects(early, SchemaNotRegisteredError);
    assert.equal(await late, 42);
    assert.equal(await ids.idFor('s', '{}'), 42, 'a resolved id is cached');
  });
});
