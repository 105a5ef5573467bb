// Credentials from AWS Secrets Manager (Kafka, the schema registry, the outbox's PostgreSQL), cached
// per process with a TTL and read again after a refused login. Errors name the secret and the key,
// never a value.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { BlockList, isIP } from 'node:net';
import { AuthenticationError, SecretError, TransientError, errorMessage } from './errors.ts';
import { decodeJson } from './json.ts';

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

export type SecretKind = 'kafka' | 'registry' | 'postgres';

/** Where credentials come from. `invalidate` drops the cached copy (after a rejected login). */
export interface CredentialSource {
  kafka(): Promise<KafkaCredentials>;
  registry(): Promise<RegistryCredentials>;
  /** The outbox's PostgreSQL (a SecretError when no PostgreSQL secret is configured). */
  postgres(): Promise<PostgresCredentials>;
  invalidate(which: SecretKind): void;
}

/** Reads one secret's string; the seam between our code and the AWS SDK. */
export type ReadSecretString = (secretName: string) => Promise<string | undefined>;

// Basic auth over plain http is readable by anyone on the path: a credential's URL may be http only
// for a server on this machine (the local stack's registry at 127.0.0.1:8081).
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
// Also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) through the rule above.
loopback.addAddress('::1', 'ipv6');

/** Whether `url` is http: (not https:) to a host other than localhost, 127.0.0.0/8 or ::1. */
export function isPlainHttpToRemoteHost(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  // The URL parser has already normalised the host (127.1, 0x7f.1 and [0::1] arrive canonical).
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family === 0) return host !== 'localhost';
  return !loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

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

function parseSecret<T>(secretName: string, raw: string | undefined, shape: z.ZodType<T>): T {
  if (raw === undefined)
    throw new SecretError(`secret ${secretName} has no SecretString (binary secrets are not supported)`);
  return decodeJson(
    raw,
    shape,
    (p) =>
      p.kind === 'syntax'
        ? new SecretError(`secret ${secretName} is not valid JSON`)
        : new SecretError(`secret ${secretName}: ${p.issues}`),
    (path, message) => `key "${path}" ${message}`,
  );
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

/** The secrets a credential source reads; the PostgreSQL one only where the outbox is the source. */
export interface SecretNames {
  kafkaSecretName: string;
  registrySecretName: string;
  postgresSecretName?: string;
}

/**
 * Every credential the process uses, read from its secret on first use, cached for `ttlMs` and
 * dropped on `invalidate` (a refused login: the secret may have been rotated), when `onReread` is
 * told (the metric) and the next use reads the secret again. A failed read is not cached.
 */
export function createCredentialSource(
  opts: SecretNames & {
    read: ReadSecretString;
    ttlMs: number;
    now?: () => number;
    onReread?: (which: SecretKind) => void;
  },
): CredentialSource {
  const now = opts.now ?? Date.now;
  const cache = new Map<SecretKind, { at: number; value: Promise<unknown> }>();

  function cached<T>(which: SecretKind, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(which);
    if (hit && now() - hit.at < opts.ttlMs) return hit.value as Promise<T>;
    const value = load();
    cache.set(which, { at: now(), value });
    value.catch(() => cache.get(which)?.value === value && cache.delete(which));
    return value;
  }
  const secret = async <T>(name: string, shape: z.ZodType<T>) => parseSecret(name, await opts.read(name), shape);

  return {
    kafka: () =>
      cached('kafka', async () => {
        const s = await secret(opts.kafkaSecretName, kafkaSecret);
        return {
          bootstrapServers: s.bootstrap_servers.split(',').map((b) => b.trim()),
          apiKey: s.api_key,
          apiSecret: s.api_secret,
        };
      }),
    registry: () =>
      cached('registry', async () => {
        const s = await secret(opts.registrySecretName, registrySecret);
        return { url: s.url.replace(/\/+$/, ''), apiKey: s.api_key, apiSecret: s.api_secret };
      }),
    postgres: () =>
      cached('postgres', async () => {
        const name = opts.postgresSecretName;
        if (!name) throw new SecretError('no PostgreSQL secret is configured (POSTGRES_SECRET_NAME)');
        const s = await secret(name, postgresSecret);
        const local = ['127.0.0.1', 'localhost', '::1'].includes(s.host);
        return { ...s, ssl: s.ssl ?? !local };
      }),
    invalidate: (which) => {
      opts.onReread?.(which);
      cache.delete(which);
    },
  };
}

/**
 * Runs `work`; when the login is refused (an AuthenticationError), lets `reread` drop the cached
 * secret (it may have been rotated) and runs `work` once more. A second refusal is final and says so.
 * Kafka, the registry and PostgreSQL all re-read their secret this way.
 */
export async function withReread<T>(work: () => Promise<T>, reread: () => unknown): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    await reread();
    try {
      return await work();
    } catch (retryErr) {
      if (retryErr instanceof AuthenticationError) {
        throw new AuthenticationError(`${retryErr.message} (also after re-reading the secret)`);
      }
      throw retryErr;
    }
  }
}
