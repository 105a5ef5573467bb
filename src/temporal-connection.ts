// Connection options for Temporal (address, namespace, mTLS) shared by the worker and clients.
import { readFileSync } from 'node:fs';
import type { Config } from './config.ts';

export function temporalTls(t: Config['temporal']) {
  if (!t.tls) return undefined;
  return {
    clientCertPair: { crt: readFileSync(t.tls.certFile), key: readFileSync(t.tls.keyFile) },
    ...(t.tls.caFile ? { serverRootCACertificate: readFileSync(t.tls.caFile) } : {}),
  };
}
