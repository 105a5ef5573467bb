// kafkajs's own modules, loaded by path for the unit tests of our patch of them
// (patches/kafkajs+2.2.4.patch), and a kafkajs logger that says nothing.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A module of kafkajs's source (`path` under kafkajs/src/), typed by the caller. */
export function kafkajsModule<T>(path: string): T {
  return require(`kafkajs/src/${path}`) as T;
}

interface QuietLogger {
  debug(): void;
  info(): void;
  warn(): void;
  error(): void;
  namespace(): QuietLogger;
}

/** A kafkajs logger (its namespaced children included) that logs nothing. */
export const quietKafkajsLogger: QuietLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  namespace: () => quietKafkajsLogger,
};
