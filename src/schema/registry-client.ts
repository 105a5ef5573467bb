// A small client for the Confluent Schema Registry REST API (Confluent Cloud, Confluent
// Platform, or Apicurio's /apis/ccompat/v7). Every request is bounded by a timeout; a rejected
// login re-reads the secret once (rotation) before failing for good. What a failed status means
// is decided in one place, registry-errors.ts.
import { withReread, type RegistryCredentials } from '../secrets.ts';
import { REGISTRY_CONTENT_TYPE, type Compatibility } from './registry-constants.ts';
import { registryError, unreachableError, type RegistryCall } from './registry-errors.ts';

// The level type is also the client's (schema-ids.ts imports it from here).
export type { Compatibility } from './registry-constants.ts';

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

interface RegistryClientDeps {
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

interface RegistryRequest<T> {
  call: RegistryCall;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  /** Failed statuses that answer the question rather than fail it (a 404 on a lookup: not registered). */
  answers?: Partial<Record<number, (body: RegistryErrorBody) => T>>;
}

interface Reply {
  ok: boolean;
  status: number;
  json: unknown;
}

export function createRegistryClient(deps: RegistryClientDeps): RegistryClient {
  return {
    register: async (subject, schema) => (await send(deps, registerRequest(subject, schema))).id,
    lookup: async (subject, schema) => (await send(deps, lookupRequest(subject, schema)))?.id,
    async checkCompatibility(subject, schema) {
      const out = await send(deps, compatibilityRequest(subject, schema));
      return { compatible: out.is_compatible, messages: out.messages ?? [] };
    },
    async setCompatibility(subject, level) {
      await send(deps, configRequest(subject, level));
    },
    schemaById: async (id) => (await send(deps, schemaByIdRequest(id))).schema,
  };
}

const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;
const avro = (schema: string) => ({ schemaType: 'AVRO', schema });

function registerRequest(subject: string, schema: string): RegistryRequest<{ id: number }> {
  return {
    call: { op: 'register', subject },
    method: 'POST',
    path: `${subjectPath(subject)}/versions`,
    body: avro(schema),
  };
}

function lookupRequest(subject: string, schema: string): RegistryRequest<{ id: number } | undefined> {
  return {
    call: { op: 'lookup', subject },
    method: 'POST',
    path: subjectPath(subject),
    body: avro(schema),
    answers: { 404: () => undefined },
  };
}

function compatibilityRequest(
  subject: string,
  schema: string,
): RegistryRequest<{ is_compatible: boolean; messages?: string[] }> {
  return {
    call: { op: 'checkCompatibility', subject },
    method: 'POST',
    path: `/compatibility${subjectPath(subject)}/versions/latest?verbose=true`,
    body: avro(schema),
    answers: {
      // No versions yet: anything is compatible with an empty subject.
      404: () => ({ is_compatible: true }),
      // Not a valid schema: the registry's reason is the answer.
      422: (body) => ({ is_compatible: false, messages: [body.message ?? 'invalid schema'] }),
    },
  };
}

function configRequest(subject: string, level: Compatibility): RegistryRequest<unknown> {
  return {
    call: { op: 'setCompatibility', subject, level },
    method: 'PUT',
    path: `/config/${encodeURIComponent(subject)}`,
    body: { compatibility: level },
  };
}

function schemaByIdRequest(id: number): RegistryRequest<{ schema: string }> {
  return { call: { op: 'schemaById', id }, method: 'GET', path: `/schemas/ids/${id}` };
}

/** Sends `req`; a failed status is one of the request's answers or else the mapped error. */
function send<T>(deps: RegistryClientDeps, req: RegistryRequest<T>): Promise<T> {
  // A refused login (401/403) may be a rotated secret: re-read it once and try again.
  return withReread(() => sendOnce(deps, req), deps.invalidateCredentials);
}

async function sendOnce<T>(deps: RegistryClientDeps, req: RegistryRequest<T>): Promise<T> {
  const reply = await exchange(deps, req);
  if (reply.ok) return reply.json as T;
  const body = errorBody(reply.json);
  const answer = req.answers?.[reply.status];
  if (answer) return answer(body);
  throw registryError(reply.status, body.error_code, body.message, req.call);
}

/** One HTTP round trip with the current credentials; no answer at all is a TransientError. */
async function exchange(deps: RegistryClientDeps, req: RegistryRequest<unknown>): Promise<Reply> {
  const creds = await deps.credentials();
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(`${creds.url}${req.path}`, {
      method: req.method,
      headers: {
        Accept: REGISTRY_CONTENT_TYPE,
        'Content-Type': REGISTRY_CONTENT_TYPE,
        Authorization: `Basic ${Buffer.from(`${creds.apiKey}:${creds.apiSecret}`).toString('base64')}`,
      },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (err) {
    throw unreachableError(err, req.call, creds.url, deps.timeoutMs);
  }
  return { ok: res.ok, status: res.status, json: await readJson(res) };
}

/** The body as JSON; a body that is not JSON (a proxy's error page) becomes the message. */
async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** The registry's error fields, when the failed answer is a JSON object at all. */
function errorBody(json: unknown): RegistryErrorBody {
  return typeof json === 'object' && json !== null ? json : {};
}
