// Credentials from AWS Secrets Manager, cached per process with a TTL. Errors name the secret
// and the key, never a value.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { SecretError, TransientError, errorMessage } from './errors.ts';
import { isPlainHttpToRemoteHost } from './schema/registry-url.ts';

export interface KafkaCredentials {
  bootstrapServers: string[];
  apiKey: string;
  apiSecret: string;
}

export interface RegistryCredentials {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** The outbox's PostgreSQL (secret POSTGRES_SECRET_NAME). */
export interface PostgresCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** TLS to the server: off for the local stack, `require` (verified against the system's CAs) otherwise. */
  ssl: boolean;
}

/** Where credentials come from. `invalidate` drops the cached copy (after a rejected login). */
export interface CredentialSource {
  kafka(): Promise<KafkaCredentials>;
  registry(): Promise<RegistryCredentials>;
  invalidate(which: 'kafka' | 'registry'): void;
}

/** Reads one secret's string; the seam between our code and the AWS SDK. */
export type ReadSecretString = (secretName: string) => Promise<string | undefined>;

const nonEmpty = z.string({ error: 'is missing or not a string' }).min(1, { error: 'is empty' });
/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address, the port 1-65535. */
const HOST_PORT = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?):(\d{1,5})$/i;
const bootstrapServers = nonEmpty.refine(
  (v) =>
    v.split(',').every((entry) => {
      const port = HOST_PORT.exec(entry.trim())?.[1];
      return port !== undefined && Number(port) >= 1 && Number(port) <= 65_535;
    }),
  { error: 'is not a comma-separated list of host:port (e.g. "host1:9092,host2:9092")' },
);
const kafkaSecret = z.object({ bootstrap_servers: bootstrapServers, api_key: nonEmpty, api_secret: nonEmpty });
const registrySecret = z.object({
  url: nonEmpty
    .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), {
      error: 'is not an http(s) URL',
    })
    // Credentials belong in api_key / api_secret: in the URL they would reach error messages.
    .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), {
      error: 'carries a user name or password (user:pass@host); put them in api_key and api_secret',
    })
    // api_key and api_secret are required, so every request carries them as basic auth.
    .refine((u) => !URL.canParse(u) || !isPlainHttpToRemoteHost(new URL(u)), {
      error:
        'is plain http to a remote host, which would send api_key and api_secret unencrypted; use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)',
    }),
  api_key: nonEmpty,
  api_secret: nonEmpty,
});

const postgresSecret = z.object({
  host: nonEmpty,
  port: z.number({ error: 'is missing or not a number' }).int().min(1).max(65_535).default(5432),
  database: nonEmpty,
  user: nonEmpty,
  password: nonEmpty,
  ssl: z.boolean({ error: 'is not true or false' }).optional(),
});

/** Reads and validates the PostgreSQL secret: `{host, port, database, user, password, ssl?}`. */
export async function readPostgresCredentials(
  read: ReadSecretString,
  secretName: string,
): Promise<PostgresCredentials> {
  const s = parseSecret(secretName, await read(secretName), postgresSecret);
  const local = ['127.0.0.1', 'localhost', '::1'].includes(s.host);
  return { ...s, ssl: s.ssl ?? !local };
}

function parseSecret<T>(secretName: string, raw: string | undefined, shape: z.ZodType<T>): T {
  if (raw === undefined)
    throw new SecretError(`secret ${secretName} has no SecretString (binary secrets are not supported)`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new SecretError(`secret ${secretName} is not valid JSON`);
  }
  const parsed = shape.safeParse(json);
  if (!parsed.success) {
    const keys = parsed.error.issues.map((i) => `"${i.path.join('.') || '(root)'}" ${i.message}`);
    throw new SecretError(`secret ${secretName}: key ${keys.join('; key ')}`);
  }
  return parsed.data;
}

/** The AWS SDK reader: region from config; endpoint and credentials through the SDK's own chain. */
export function awsSecretReader(
  region: string,
  timeoutMs: number,
  client = new SecretsManagerClient({
    region,
    // The SDK waits forever by default; bound each attempt (the SDK retries 3 times).
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  }),
): ReadSecretString {
  return async (secretName) => {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
      return out.SecretString;
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (name === 'ResourceNotFoundException') {
        throw new SecretError(`secret ${secretName} does not exist in region ${region}`);
      }
      if (['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException'].includes(name)) {
        throw new SecretError(`reading secret ${secretName} was denied (${name})`);
      }
      if (name === 'CredentialsProviderError') {
        throw new SecretError(`no AWS credentials to read secret ${secretName}: ${errorMessage(err)}`);
      }
      throw new TransientError(`reading secret ${secretName} failed: ${name || 'error'}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  };
}

export function createCredentialSource(opts: {
  read: ReadSecretString;
  kafkaSecretName: string;
  registrySecretName: string;
  ttlMs: number;
  now?: () => number;
}): CredentialSource {
  const now = opts.now ?? Date.now;
  const cache = new Map<'kafka' | 'registry', { at: number; value: Promise<unknown> }>();

  function cached<T>(which: 'kafka' | 'registry', load: () => Promise<T>): Promise<T> {
    const hit = cache.get(which);
    if (hit && now() - hit.at < opts.ttlMs) return hit.value as Promise<T>;
    const value = load();
    cache.set(which, { at: now(), value });
    // A failed read must not stay cached.
    value.catch(() => cache.get(which)?.value === value && cache.delete(which));
    return value;
  }

  return {
    kafka: () =>
      cached('kafka', async () => {
        const s = parseSecret(opts.kafkaSecretName, await opts.read(opts.kafkaSecretName), kafkaSecret);
        return {
          bootstrapServers: s.bootstrap_servers.split(',').map((b) => b.trim()),
          apiKey: s.api_key,
          apiSecret: s.api_secret,
        };
      }),
    registry: () =>
      cached('registry', async () => {
        const s = parseSecret(opts.registrySecretName, await opts.read(opts.registrySecretName), registrySecret);
        return { url: s.url.replace(/\/+$/, ''), apiKey: s.api_key, apiSecret: s.api_secret };
      }),
    invalidate: (which) => void cache.delete(which),
  };
}
