// Where a registry URL may send credentials. Basic auth over plain http is readable by anyone on
// the path, so http is for a registry on this machine only (the local stack's 127.0.0.1:8081).
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
// Also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) through the rule above.
loopback.addAddress('::1', 'ipv6');

/** Whether `url` is http: (not https:) to a host other than localhost, 127.0.0.0/8 or ::1. */
export function isPlainHttpToRemoteHost(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  // The URL parser has already normalised the host (127.1, 0x7f.1 and [0::1] arrive canonical).
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family === 0) return host !== 'localhost';
  return !loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
