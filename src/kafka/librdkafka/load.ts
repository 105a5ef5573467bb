// Loads @confluentinc/kafka-javascript (librdkafka for Node) on first use. It is an optional
// dependency with a native build, so a machine where it could not be built still runs the kafkajs
// default; asking for it there is a clear configuration error, not a crash.
import type * as RdKafka from '@confluentinc/kafka-javascript';
import { ConfigError, errorMessage } from '../../errors.ts';

export type RdKafkaModule = typeof RdKafka;

/** A loader over `importer` (tests pass one that fails); it retries the import after a failure. */
export function librdkafkaLoader(importer: () => Promise<unknown>): () => Promise<RdKafkaModule> {
  let loading: Promise<RdKafkaModule> | undefined;
  return () => {
    loading ??= importer().then(
      (m) => (m as { default?: RdKafkaModule }).default ?? (m as RdKafkaModule),
      (err: unknown) => {
        loading = undefined;
        throw new ConfigError(
          'KAFKA_CLIENT=librdkafka needs the optional package @confluentinc/kafka-javascript, which is not ' +
            `installed or whose native build failed (${errorMessage(err).split('\n')[0]}). ` +
            'Run "npm run setup" (installs the Debian build packages, then builds it), or set KAFKA_CLIENT=kafkajs',
        );
      },
    );
    return loading;
  };
}

export const loadLibrdkafka = librdkafkaLoader(() => import('@confluentinc/kafka-javascript'));
