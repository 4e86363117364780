// Which hosts and IP addresses an outbound call may reach: allowHosts matching and the address classifier.
import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * The canonical form of a host name or IP literal as the WHATWG URL parser writes it: lower case,
 * punycode, IPv4 shorthand expanded, no brackets around IPv6 and no trailing dot.
 */
export function normalizeHost(host: string): string {
  let text = host.trim().toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.endsWith('.')) text = text.slice(0, -1);
  const bytes = parseIp(text);
  if (bytes !== undefined) return formatIp(bytes);
  try {
    return new URL(`http://${text}/`).hostname;
  } catch {
    return text;
  }
}

/**
 * Whether `host` matches an entry of allowHosts: an exact host name or IP, or `*.example.com` for any
 * subdomain of example.com (not example.com itself).
 */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const name = normalizeHost(host);
  if (name === '') return false;
  return allowHosts.some((entry) => {
    const trimmed = entry.trim();
    if (trimmed.startsWith('*.')) {
      const suffix = normalizeHost(trimmed.slice(2));
      return suffix !== '' && name.endsWith(`.${suffix}`) && parseIp(name) === undefined;
    }
    return normalizeHost(trimmed) === name;
  });
}

/**
 * Whether the IP `address` itself is an entry of allowHosts (a name that resolves to it does not count).
 * An IPv4-mapped IPv6 address counts as its IPv4 address, as a dual-stack socket may report either.
 */
export function addressListed(address: string, allowHosts: readonly string[]): boolean {
  const bytes = comparable(address);
  return bytes !== undefined && allowHosts.some((entry) => sameBytes(comparable(entry), bytes));
}

/**
 * Who a request came from, for counting: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or the /64
 * of an IPv6 address, which one subscriber usually holds whole.
 */
export function clientOf(address: string): string {
  const bytes = comparable(address);
  if (bytes === undefined) return 'unknown';
  if (bytes.length === 4) return formatIp(bytes);
  return `${formatIp(maskTo(bytes, 64))}/64`;
}

/** An IP range written `10.0.0.0/8` or `fd00::/8`; a bare address is a range of one. */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** Parses a CIDR entry, or says what is wrong with it. */
export function parseCidr(text: string): Cidr | string {
  const [address = '', bitsText, extra] = text.trim().split('/');
  const bytes = parseIp(address);
  if (bytes === undefined || extra !== undefined || address.includes('%')) {
    return `"${text}" is not an IP address or range`;
  }
  const max = bytes.length * 8;
  if (bitsText === undefined) return { bytes, bits: max };
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) {
    return `"${text}" has a prefix length outside 0-${max}`;
  }
  const bits = Number(bitsText);
  const network = maskTo(bytes, bits);
  if (!sameBytes(network, bytes)) {
    return `"${text}" has bits set after the /${bits} prefix; its network is ${formatIp(network)}/${bits}`;
  }
  return { bytes, bits };
}

/**
 * Whether allowPrivateAddresses lets an outbound call reach `address`. A cloud metadata address is
 * reached only when listed as itself: a range that happens to contain it does not count.
 */
export function privateAddressAllowed(address: string, ranges: readonly string[]): boolean {
  const bytes = comparable(address);
  if (bytes === undefined) return false;
  const exactOnly = isMetadata(bytes);
  return ranges.some((entry) => {
    const cidr = parseCidr(entry);
    if (typeof cidr === 'string' || cidr.bytes.length !== bytes.length) return false;
    if (exactOnly && cidr.bits !== bytes.length * 8) return false;
    return sameBytes(maskTo(bytes, cidr.bits), cidr.bytes);
  });
}

/** The bytes an address is compared by: IPv4-mapped and -compatible forms as their IPv4 address. */
function comparable(text: string): Uint8Array | undefined {
  const bytes = parseIp(text);
  if (bytes === undefined || bytes.length === 4) return bytes;
  const zeros = bytes.slice(0, 10).every((b) => b === 0);
  return zeros && bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : bytes;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

function maskTo(bytes: Uint8Array, bits: number): Uint8Array {
  return bytes.map((b, i) => {
    const width = Math.max(0, Math.min(8, bits - i * 8));
    return b & ((0xff << (8 - width)) & 0xff);
  });
}

// Cloud metadata and platform endpoints hand out the machine's own credentials: refused unless listed as
// themselves (AWS IMDS v4/v6, ECS and EKS credentials, Alibaba, Azure's wire server; GCP, Azure,
// OpenStack, DigitalOcean and Oracle use 169.254.169.254 too).
const METADATA_ADDRESSES = [
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  'fd00:ec2::254',
  'fd00:ec2::23',
  '100.100.100.200',
  '168.63.129.16',
].map((a) => parseIp(a)!);

function isMetadata(bytes: Uint8Array): boolean {
  return METADATA_ADDRESSES.some((m) => sameBytes(m, bytes));
}

type Range = readonly [prefix: readonly number[], bits: number, reason: string];

// Addresses that lead into the gateway's own network rather than to an operator's public service.
const IPV4_RANGES: readonly Range[] = [
  [[0], 8, 'unspecified address'],
  [[10], 8, 'private address'],
  [[100, 64], 10, 'shared (CGNAT) address'],
  [[127], 8, 'loopback address'],
  [[169, 254], 16, 'link-local address'],
  [[172, 16], 12, 'private address'],
  [[192, 0, 0], 24, 'reserved address'],
  [[192, 168], 16, 'private address'],
  [[198, 18], 15, 'reserved address'],
  [[224], 4, 'multicast address'],
  [[240], 4, 'reserved address'],
];

const IPV6_RANGES: readonly Range[] = [
  [[0xfc], 7, 'unique-local address'],
  [[0xfe, 0x80], 10, 'link-local address'],
  [[0xfe, 0xc0], 10, 'private address'],
  [[0xff], 8, 'multicast address'],
];

/**
 * Why an outbound call must not connect to `address`, or undefined when it is a public address.
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that address.
 */
export function addressRestriction(address: string): string | undefined {
  const bytes = parseIp(address);
  if (bytes === undefined) return 'not an IP address';
  const v4 = bytes.length === 4 ? bytes : embeddedIpv4(bytes);
  if (isMetadata(bytes) || (v4 !== undefined && isMetadata(v4))) return 'cloud metadata address';
  if (bytes.length === 4) return matchRange(bytes, IPV4_RANGES);

  if (bytes.every((b) => b === 0)) return 'unspecified address';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return 'loopback address';
  const embedded = embeddedIpv4(bytes);
  if (embedded !== undefined) return matchRange(embedded, IPV4_RANGES);
  const named = matchRange(bytes, IPV6_RANGES);
  if (named !== undefined) return named;
  // Only 2000::/3 is allocated as global unicast; anything else cannot be an operator's public service.
  return ((bytes[0] ?? 0) & 0xe0) === 0x20 ? undefined : 'reserved address';
}

/** Whether two IP literals are the same address, whatever their spelling. */
export function sameAddress(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
}

function embeddedIpv4(bytes: Uint8Array): Uint8Array | undefined {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated compatible form)
  if (zeros(0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || zeros(10, 12))) return bytes.slice(12);
  // 64:ff9b::a.b.c.d (NAT64)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) {
    return bytes.slice(12);
  }
  // 2002:aabb:ccdd::/48 (6to4)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

function matchRange(bytes: Uint8Array, ranges: readonly Range[]): string | undefined {
  for (const [prefix, bits, reason] of ranges) {
    if (inPrefix(bytes, prefix, bits)) return reason;
  }
  return undefined;
}

function inPrefix(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const width = Math.min(8, bits - bit);
    const mask = (0xff << (8 - width)) & 0xff;
    if (((bytes[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 literal (brackets and a zone id allowed), or undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  let value = text.trim();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (isIPv4(value)) return parseIpv4(value);
  if (!isIPv6(value)) return undefined;

  const [head = '', tail] = value.split('::');
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return [];
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map(Number));
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Whether `text` is an IP literal (with or without IPv6 brackets). */
export function isIpLiteral(text: string): boolean {
  return isIP(text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '')) !== 0;
}
