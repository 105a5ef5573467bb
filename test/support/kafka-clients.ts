// The producer backends the engine, workflow, fault and failover suites run against: each such
// suite is declared once and run once per backend. TEST_KAFKA_CLIENTS=kafkajs (or librdkafka)
// narrows the set for a quick local loop; by default both run, and a librdkafka that is not
// built fails its suites loudly (in a before hook), never skips them.
import { after, before, describe } from 'node:test';
import type { Config } from '../../src/config/index.ts';
import { loadLibrdkafka } from '../../src/kafka/librdkafka/load.ts';

export type KafkaClient = Config['kafka']['client'];
const ALL: KafkaClient[] = ['kafkajs', 'librdkafka'];

let active: KafkaClient | undefined;

/** The backend of the suite running now (testConfig uses it); undefined outside such a suite. */
export const activeKafkaClient = (): KafkaClient | undefined => active;

export function testedKafkaClients(): KafkaClient[] {
  const only = process.env['TEST_KAFKA_CLIENTS'];
  if (!only) return ALL;
  const picked = only.split(',').map((c) => c.trim());
  const unknown = picked.filter((c) => !ALL.includes(c as KafkaClient));
  if (unknown.length > 0)
    throw new Error(`TEST_KAFKA_CLIENTS: unknown client ${unknown.join(', ')} (kafkajs, librdkafka)`);
  return picked as KafkaClient[];
}

/** Declares the suite `name` once per backend; `body` gets the backend and may add its own hooks. */
export function describeEachKafkaClient(name: string, body: (client: KafkaClient) => void): void {
  for (const client of testedKafkaClients()) {
    describe(`${name} [${client}]`, () => {
      before(async () => {
        active = client;
        if (client === 'librdkafka') await loadLibrdkafka(); // not built: every test here fails, naming why
      });
      after(() => {
        active = undefined;
      });
      body(client);
    });
  }
}
