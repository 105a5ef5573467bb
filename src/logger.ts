// One small structured logger for code outside workflows and activities (which use Temporal's
// `log`). Lines are JSON on stderr; `LOG_LEVEL` picks the threshold. Never pass a secret.
import { redactUrls } from './errors.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
type LogMeta = Record<string, unknown>;

export interface Logger {
  debug(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  error(message: string, meta?: LogMeta): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  base: LogMeta = {},
): Logger {
  const at =
    (lvl: LogLevel) =>
    (message: string, meta: LogMeta = {}): void => {
      if (ORDER[lvl] < ORDER[level]) return;
      // URLs lose their user-info (a password in a URL must not reach a log line).
      // A field named time, level or message cannot overwrite the line's own.
      const fields: LogMeta = { ...base, ...meta };
      for (const own of ['time', 'level', 'message']) delete fields[own];
      write(redactUrls(JSON.stringify({ time: new Date().toISOString(), level: lvl, message, ...fields }, jsonSafe)));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * JSON has no bigint (64-bit order ids are bigints): write them as decimal strings. Errors keep
 * their name, message and type (JSON.stringify would write `{}`), and their cause.
 */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const { type } = value as { type?: unknown };
    return {
      name: value.name,
      message: value.message,
      ...(type ? { type } : {}),
      ...(value.cause ? { cause: value.cause } : {}),
    };
  }
  return value;
}
