// Resolves (registers or looks up) a schema's id once per process and subject.
import { SchemaNotRegisteredError } from '../errors.ts';
import type { Compatibility, RegistryClient } from './registry-client.ts';

interface SchemaIdOptions {
  /** Register the schema when it is missing (off: lookup only, a missing schema is an error). */
  autoRegister: boolean;
  /** When set, registration first sets this compatibility level on the subject. */
  compatibility?: Compatibility | undefined;
}

export interface SchemaIds {
  idFor(subject: string, schema: string): Promise<number>;
}

export function createSchemaIds(registry: RegistryClient, options: SchemaIdOptions): SchemaIds {
  // Only ids are cached. Calls in flight are not shared: a caller must never get an answer
  // ("not registered") that reflects the registry before its own call began.
  const ids = new Map<string, number>();

  async function resolve(subject: string, schema: string): Promise<number> {
    if (!options.autoRegister) {
      const id = await registry.lookup(subject, schema);
      if (id === undefined) {
        throw new SchemaNotRegisteredError(
          `the schema is not registered under subject ${subject} and auto-registration is off (REGISTRY_AUTO_REGISTER=false); register it with "npm run schema -- register"`,
        );
      }
      return id;
    }
    if (options.compatibility) await registry.setCompatibility(subject, options.compatibility);
    return registry.register(subject, schema);
  }

  return {
    async idFor(subject, schema) {
      const key = `${subject}\u0000${schema}`;
      const known = ids.get(key);
      if (known !== undefined) return known;
      const id = await resolve(subject, schema);
      ids.set(key, id);
      return id;
    },
  };
}
