// allowHosts for the configuration: the syntax of an entry, and matching a host against the list.

/**
 * True when `host` is listed in `allowHosts`, exactly or under a `*.suffix` wildcard (subdomains only:
 * `*.example.com` does not match `example.com`). One implementation serves check-config and the
 * outbound client, so what the configuration check accepts is exactly what is called at run time.
 */
export { hostAllowed } from '../net/addresses.js';

/** Syntax of an allowHosts entry: a hostname, an IP address, or `*.` followed by a hostname. */
export function isAllowHostEntry(entry: string): boolean {
  const name = entry.startsWith('*.') ? entry.slice(2) : entry;
  if (/^\[?[0-9A-Fa-f:.]+\]?$/.test(name) && name.includes(':')) return !entry.startsWith('*.');
  return /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
    name,
  );
}
