// Settings for the local stack, for commands run in any terminal: when `npm run stack:up` has
// written .stack/env, its variables fill what the environment leaves unset. All or nothing: if the
// environment sets any connection setting (where Temporal, AWS or Kafka is, and who we are there),
// the file is not used at all, so a worker started from a developer's checkout against a real
// deployment never mixes local endpoints or credentials into it. Imported first by every entry
// point (worker, commands, schedules); the worker logs what it decided.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Settings that say where the services are and who we are there: one set in the environment means "not local". */
const CONNECTION_SETTINGS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TLS_CERT_FILE',
  'TEMPORAL_TLS_CA_FILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'KAFKA_SECRET_NAME',
  'REGISTRY_SECRET_NAME',
  'POSTGRES_SECRET_NAME',
  'KAFKA_SSL_CA_FILE',
] as const;

export type LocalStackEnv =
  { applied: true; file: string; filled: string[] } | { applied: false; file: string; reason: string };

const LINE = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/;

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

const isSet = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== '';

/** Fills the unset variables of `env` from `file`, unless the environment sets a connection setting. */
export function applyLocalStackEnv(file: string, env: NodeJS.ProcessEnv = process.env): LocalStackEnv {
  if (env['ORDER_EVENTS_LOCAL_ENV'] === 'off') return { applied: false, file, reason: 'ORDER_EVENTS_LOCAL_ENV=off' };
  if (!existsSync(file)) return { applied: false, file, reason: 'no local stack file' };
  const fromFile = parseEnvFile(readFileSync(file, 'utf8'));
  const own = CONNECTION_SETTINGS.filter((name) => isSet(env, name));
  // The local stack's own processes (tests, `npm start`) export the file itself: same values, so it
  // is still "local". Any other value means a real deployment.
  const foreign = own.filter((name) => env[name] !== fromFile[name]);
  if (foreign.length > 0) {
    return { applied: false, file, reason: `the environment sets ${foreign.join(', ')}` };
  }
  const filled = Object.keys(fromFile).filter((name) => !isSet(env, name));
  for (const name of filled) env[name] = fromFile[name];
  return { applied: true, file, filled };
}

export const localStackEnv: LocalStackEnv = applyLocalStackEnv(
  fileURLToPath(new URL('../.stack/env', import.meta.url)),
);
