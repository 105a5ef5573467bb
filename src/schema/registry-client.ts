// A small client for the Confluent Schema Registry REST API (Confluent Cloud, Confluent
// Platform, or Apicurio's /apis/ccompat/v7). Every request is bounded by a timeout; a rejected
// login re-reads the secret once (rotation) before failing for good.
import {
  AuthenticationError,
  SchemaIncompatibleError,
  SchemaNotRegisteredError,
  TransientError,
  errorMessage,
} from '../errors.ts';
import type { RegistryCredentials } from '../secrets.ts';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export type Compatibility =
  'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export interface RegistryClient {
  /** Registers `schema` under `subject` (or finds it there) and returns its id. */
  register(subject: string, schema: string): Promise<number>;
  /** The id of `schema` under `subject`, or undefined when it is not registered there. */
  lookup(subject: string, schema: string): Promise<number | undefined>;
  /** Whether `schema` may be registered under `subject` next, with the registry's reasons. */
  checkCompatibility(subject: string, schema: string): Promise<{ compatible: boolean; messages: string[] }>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
  schemaById(id: number): Promise<string>;
}

export interface RegistryClientDeps {
  credentials: () => Promise<RegistryCredentials>;
  /** Drops cached credentials so the next `credentials()` re-reads the secret. */
  invalidateCredentials: () => void;
  timeoutMs: number;
  fetch?: typeof fetch;
}

interface RegistryErrorBody {
  error_code?: number;
  message?: string;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: RegistryErrorBody,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.message ?? ''}`.trim());
  }
}

export function createRegistryClient(deps: RegistryClientDeps): RegistryClient {
  const doFetch = deps.fetch ?? fetch;

  async function once<T>(method: string, path: string, body: unknown, what: string): Promise<T> {
    const creds = await deps.credentials();
    let res: Response;
    try {
      res = await doFetch(`${creds.url}${path}`, {
        method,
        headers: {
          Accept: CONTENT_TYPE,
          'Content-Type': CONTENT_TYPE,
          Authorization: `Basic ${Buffer.from(`${creds.apiKey}:${creds.apiSecret}`).toString('base64')}`,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (err) {
      const reason =
        (err as Error).name === 'TimeoutError' ? `no answer within ${deps.timeoutMs} ms` : errorMessage(err);
      throw new TransientError(`schema registry unreachable during ${what} (${new URL(creds.url).host}): ${reason}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text.slice(0, 200) };
    }
    if (!res.ok) throw new HttpStatusError(res.status, json as RegistryErrorBody, what);
    return json as T;
  }

  async function request<T>(method: string, path: string, body: unknown, what: string): Promise<T> {
    try {
      try {
        return await once<T>(method, path, body, what);
      } catch (err) {
        if (!(err instanceof HttpStatusError) || (err.status !== 401 && err.status !== 403)) throw err;
        // Credentials rotated? Re-read the secret once and try again.
        deps.invalidateCredentials();
        return await once<T>(method, path, body, what);
      }
    } catch (err) {
      if (!(err instanceof HttpStatusError)) throw err;
      if (err.status === 401 || err.status === 403) {
        throw new AuthenticationError(
          `schema registry refused the credentials from the registry secret during ${what} (HTTP ${err.status}), also after re-reading the secret`,
        );
      }
      if (err.status >= 500 || err.status === 429) {
        throw new TransientError(`schema registry error during ${what}: HTTP ${err.status} ${err.body.message ?? ''}`);
      }
      throw err;
    }
  }

  const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;

  return {
    async register(subject, schema) {
      try {
        const out = await request<{ id: number }>(
          'POST',
          `${subjectPath(subject)}/versions`,
          { schemaType: 'AVRO', schema },
          `registering the schema under ${subject}`,
        );
        return out.id;
      } catch (err) {
        if (err instanceof HttpStatusError && (err.status === 409 || err.status === 422)) {
          throw new SchemaIncompatibleError(
            `schema registry rejected the schema for subject ${subject} (HTTP ${err.status}): ${err.body.message ?? 'no message'}`,
          );
        }
        throw err;
      }
    },

    async lookup(subject, schema) {
      try {
        const out = await request<{ id: number }>(
          'POST',
          subjectPath(subject),
          { schemaType: 'AVRO', schema },
          `looking up the schema under ${subject}`,
        );
        return out.id;
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 404) return undefined;
        throw err;
      }
    },

    async checkCompatibility(subject, schema) {
      try {
        const out = await request<{ is_compatible: boolean; messages?: string[] }>(
          'POST',
          `/compatibility${subjectPath(subject)}/versions/latest?verbose=true`,
          { schemaType: 'AVRO', schema },
          `checking compatibility with ${subject}`,
        );
        return { compatible: out.is_compatible, messages: out.messages ?? [] };
      } catch (err) {
        // No versions yet: anything is compatible with an empty subject.
        if (err instanceof HttpStatusError && err.status === 404) return { compatible: true, messages: [] };
        if (err instanceof HttpStatusError && err.status === 422) {
          return { compatible: false, messages: [err.body.message ?? 'invalid schema'] };
        }
        throw err;
      }
    },

    async setCompatibility(subject, level) {
      await request(
        'PUT',
        `/config/${encodeURIComponent(subject)}`,
        { compatibility: level },
        `setting ${level} on ${subject}`,
      );
    },

    async schemaById(id) {
      try {
        const out = await request<{ schema: string }>('GET', `/schemas/ids/${id}`, undefined, `reading schema ${id}`);
        return out.schema;
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 404) {
          throw new SchemaNotRegisteredError(`schema id ${id} is not known to the registry`);
        }
        throw err;
      }
    },
  };
}
