// Settings for the local stack, for commands run in any terminal: when `npm run stack:up` has
// written .stack/env, every variable in it that the environment does not set is taken from it.
// What the user (or production) sets always wins; without .stack/env nothing changes.
// Imported first by every entry point (worker, commands, schedules).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LINE = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/;

/** The `export NAME=value` lines of an env file, unquoted. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** Fills the unset variables of `env` from `file`; returns the names it filled. */
export function applyLocalEnv(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (process.env['ORDER_EVENTS_LOCAL_ENV'] === 'off' || !existsSync(file)) return [];
  const filled: string[] = [];
  for (const [name, value] of Object.entries(parseEnvFile(readFileSync(file, 'utf8')))) {
    if (env[name] === undefined || env[name] === '') {
      env[name] = value;
      filled.push(name);
    }
  }
  return filled;
}

applyLocalEnv(fileURLToPath(new URL('../.stack/env', import.meta.url)));
