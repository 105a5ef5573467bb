// Connection options for Temporal (address, namespace, TLS or mTLS) shared by the worker and clients.
import { readFileSync } from 'node:fs';
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
