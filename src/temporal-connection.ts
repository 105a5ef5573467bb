// Connecting to Temporal (address, namespace, TLS or mTLS), shared by the worker and the commands:
// the TLS options, and one client for a command's work with its connection closed afterwards.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config/index.ts';

export function temporalTls(t: Config['temporal']) {
  if (!t.tls) return undefined;
  return {
    ...(t.tls.client
      ? { clientCertPair: { crt: readFileSync(t.tls.client.certFile), key: readFileSync(t.tls.client.keyFile) } }
      : {}),
    ...(t.tls.caFile ? { serverRootCACertificate: readFileSync(t.tls.caFile) } : {}),
  };
}

/** Connects to Temporal, runs `work` with a client in the namespace, and closes the connection however `work` ends. */
export async function withTemporalClient<T>(
  temporal: Config['temporal'],
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect({ address: temporal.address, tls: temporalTls(temporal) });
  try {
    return await work(new Client({ connection, namespace: temporal.namespace }));
  } finally {
    await connection.close();
  }
}
