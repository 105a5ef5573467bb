// Network faults for the failover suite, through the stack's Toxiproxy (three-broker mode): one
// proxy per broker (named kafka-1..kafka-3, on the address the broker advertises for SASL_SSL)
// and one for Temporal ("temporal"). Toxiproxy's REST API, over Node's fetch.
import { required } from './services.ts';

export type ProxyName = `kafka-${number}` | 'temporal';
type Stream = 'upstream' | 'downstream';

/** A toxic as Toxiproxy's API takes it (https://github.com/Shopify/toxiproxy#toxics). */
export interface Toxic {
  name: string;
  type: 'latency' | 'timeout' | 'reset_peer' | 'bandwidth' | 'slow_close' | 'limit_data';
  stream: Stream;
  toxicity?: number;
  attributes: Record<string, number>;
}

const api = () => required('STACK_PROXY_URL');

async function call(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${api()}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${await res.text()}`);
}

export const networkFaults = {
  /** Adds `toxic` to the proxy's links (both directions when `stream` is omitted: two toxics). */
  async add(proxy: ProxyName, toxic: Omit<Toxic, 'stream'> & { stream?: Stream }): Promise<void> {
    for (const stream of toxic.stream ? [toxic.stream] : (['upstream', 'downstream'] as const)) {
      await call('POST', `/proxies/${proxy}/toxics`, {
        toxicity: 1,
        ...toxic,
        name: toxic.stream ? toxic.name : `${toxic.name}-${stream}`,
        stream,
      });
    }
  },
  async remove(proxy: ProxyName, name: string, both = false): Promise<void> {
    for (const n of both ? [`${name}-upstream`, `${name}-downstream`] : [name]) {
      await call('DELETE', `/proxies/${proxy}/toxics/${n}`);
    }
  },
  /** Disabling a proxy closes its connections and refuses new ones: the link is down. */
  async setEnabled(proxy: ProxyName, enabled: boolean): Promise<void> {
    await call('POST', `/proxies/${proxy}`, { enabled });
  },
  /** Every proxy enabled, every toxic removed. */
  async reset(): Promise<void> {
    await call('POST', '/reset');
  },
};
