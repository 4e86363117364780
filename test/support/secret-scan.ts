// The secret canary scanner: a secret in clear, URL-, form-, JSON- or base64-encoded, in Redis (every type) or in lines.
import type { Redis } from 'ioredis';

export interface Finding {
  where: string;
  canary: string;
  /** How it was written: plain, url, form, json, base64… */
  encoding: string;
}

/** Base64 text that any base64 of a string containing `secret` must contain, whatever the offset. */
function base64Cores(secret: string, alphabet: 'base64' | 'base64url'): string[] {
  const cores: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.from('\0'.repeat(pad) + secret, 'utf8').toString(alphabet);
    // Drop the characters that mix in the padding before and whatever follows after.
    const start = Math.ceil((pad * 4) / 3);
    const end = Math.floor(((pad + Buffer.byteLength(secret)) * 4) / 3) - 1;
    if (end - start >= 8) cores.push(encoded.slice(start, end));
  }
  return cores;
}

/** Every form the canary could take on its way into storage or a log. */
function needles(canary: string): { encoding: string; text: string }[] {
  const list = [
    { encoding: 'plain', text: canary },
    { encoding: 'url', text: encodeURIComponent(canary) },
    { encoding: 'form', text: new URLSearchParams({ x: canary }).toString().slice(2) },
    { encoding: 'json', text: JSON.stringify(canary).slice(1, -1) },
    ...base64Cores(canary, 'base64').map((text) => ({ encoding: 'base64', text })),
    ...base64Cores(canary, 'base64url').map((text) => ({ encoding: 'base64url', text })),
  ];
  const seen = new Set<string>();
  return list.filter((n) => !seen.has(n.text) && seen.add(n.text));
}

export function scanText(where: string, text: string, canaries: string[]): Finding[] {
  const found: Finding[] = [];
  for (const canary of canaries) {
    for (const needle of needles(canary)) {
      if (text.includes(needle.text)) found.push({ where, canary, encoding: needle.encoding });
    }
  }
  return found;
}

/** Every value of a key, read with the command for its type (byte-safe). */
async function readKey(redis: Redis, key: string, type: string): Promise<string[]> {
  const text = (values: Buffer[]) => values.map((v) => v.toString('utf8'));
  switch (type) {
    case 'string':
      return text([(await redis.getBuffer(key)) ?? Buffer.alloc(0)]);
    case 'hash':
      return Object.entries(await redis.hgetallBuffer(key)).flatMap(([field, value]) => [
        field,
        value.toString('utf8'),
      ]);
    case 'list':
      return text(await redis.lrangeBuffer(key, 0, -1));
    case 'set':
      return text(await redis.smembersBuffer(key));
    case 'zset':
      return text(await redis.zrangeBuffer(key, '0', '-1', 'WITHSCORES'));
    case 'stream':
      return (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    case 'none':
      return []; // expired between SCAN and TYPE
    default:
      throw new Error(`key ${key} has a type the scanner cannot read: ${type}`);
  }
}

/** SCANs every key under `prefix:` (Switchboard's own and BullMQ's), reads each with its type's command. */
export async function scanRedis(
  redis: Redis,
  prefix: string,
  canaries: string[],
): Promise<{ findings: Finding[]; types: Map<string, number>; keys: { key: string; type: string }[] }> {
  const findings: Finding[] = [];
  const types = new Map<string, number>();
  const seen: { key: string; type: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      types.set(type, (types.get(type) ?? 0) + 1);
      seen.push({ key, type });
      findings.push(...scanText(`redis key name ${key}`, key, canaries));
      for (const value of await readKey(redis, key, type))
        findings.push(...scanText(`redis ${type} ${key}`, value, canaries));
    }
  } while (cursor !== '0');
  return { findings, types, keys: seen };
}

export function scanLines(where: string, lines: unknown[], canaries: string[]): Finding[] {
  return lines.flatMap((line, i) => scanText(`${where} #${i}`, JSON.stringify(line), canaries));
}
