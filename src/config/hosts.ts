// Matching a host against a workspace's allowHosts: used by check-config and before every outbound call.

/**
 * True when `host` is listed in `allowHosts`, exactly or under a `*.suffix` wildcard.
 * A wildcard matches subdomains only (`*.example.com` does not match `example.com`), so an operator
 * who lists `*.api.example.com` has not also opened the apex. Case, a trailing dot and IPv6 brackets
 * are ignored on both sides.
 */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const wanted = normalizeHost(host);
  if (wanted === '') return false;
  return allowHosts.some((entry) => {
    const allowed = normalizeHost(entry);
    if (allowed.startsWith('*.')) {
      const suffix = allowed.slice(1);
      return wanted.length > suffix.length && wanted.endsWith(suffix);
    }
    return allowed === wanted;
  });
}

function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** Syntax of an allowHosts entry: a hostname, an IP address, or `*.` followed by a hostname. */
export function isAllowHostEntry(entry: string): boolean {
  const name = entry.startsWith('*.') ? entry.slice(2) : entry;
  if (/^\[?[0-9A-Fa-f:.]+\]?$/.test(name) && name.includes(':')) return !entry.startsWith('*.');
  return /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
    name,
  );
}
