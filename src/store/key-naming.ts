// Keyed hashes for Redis key names: without the data key, a key name cannot be turned back into a code or a phone number.
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DataKeyError, type DataCipher, type SealedPlace } from './cipher.js';
import { keyNamingRecord } from './keys.js';

/** The key-naming record's place (the associated data it is sealed with). */
const NAMING_PLACE: SealedPlace = ['meta', 'key-naming'];

/**
 * Turns what must stay out of key names (link codes, channel identities, user scopes, conversations)
 * into short opaque names. Implemented by `keyNaming`: HMAC-SHA256 under the key-naming key.
 */
export interface KeyNaming {
  /** 22 base64url characters (132 bits) of the HMAC of the parts. */
  hash(...parts: string[]): string;
}

/** What HKDF mixes in: the data key encrypts, the key derived from it names, and neither does the other's job. */
const NAMING_INFO = 'switchboard key names v1';

/** The key-naming key HKDF derives from a data key (32 bytes, base64, as SWITCHBOARD_DATA_KEY). */
export function namingKeyFrom(dataKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(dataKey.trim(), 'base64'), '', NAMING_INFO, 32));
}

/** Names remembered per process: a turn names the same identity and conversation several times. */
const REMEMBERED = 10_000;

// NUL cannot appear in a workspace id, a bot id or a channel identity, so the parts cannot run into each other.
export function keyNaming(key: Buffer): KeyNaming {
  // An HMAC costs about twice an unkeyed hash (a few µs); a Map lookup a tenth of a µs. Emptied when full,
  // which is cheaper than keeping an LRU order and loses only what the next turns name again.
  const remembered = new Map<string, string>();
  return {
    hash(...parts) {
      const text = parts.join('\0');
      let name = remembered.get(text);
      if (name === undefined) {
        name = createHmac('sha256', key).update(text).digest('base64url').slice(0, 22);
        if (remembered.size >= REMEMBERED) remembered.clear();
        remembered.set(text, name);
      }
      return name;
    },
  };
}

/** The unkeyed hash key names used before keyed naming: only to find and move data written then. */
export function legacyDigest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 22);
}

/** A data-key problem like the others: the command line prints its message and exits 1. */
export class KeyNamingError extends DataKeyError {
  override readonly name = 'KeyNamingError';
}

interface NamingRecord {
  /** The key-naming key, base64. */
  key: string;
  /** When it was made (ms): for the operator, not used. */
  at: number;
}

/**
 * The key-naming key of this Redis. It is derived from the data key current when Switchboard first named
 * keys here, and kept in Redis sealed under the current data key. Rotating the data key re-seals the
 * record and changes no key name, so nothing has to move; retiring an old data key later changes nothing
 * either.
 */
export async function loadKeyNaming(
  redis: Redis,
  prefix: string,
  cipher: DataCipher,
  dataKey: string,
): Promise<KeyNaming> {
  const name = keyNamingRecord(prefix);
  const fresh: NamingRecord = { key: namingKeyFrom(dataKey).toString('base64'), at: Date.now() };
  // NX: of two processes starting together, both end up with the record the first one wrote.
  if ((await redis.set(name, cipher.seal(JSON.stringify(fresh), NAMING_PLACE), 'NX')) === 'OK') {
    return keyNaming(Buffer.from(fresh.key, 'base64'));
  }
  const sealed = await redis.get(name);
  const plain = sealed === null ? undefined : cipher.open(sealed, NAMING_PLACE);
  let record: NamingRecord | undefined;
  try {
    record = plain === undefined ? undefined : (JSON.parse(plain) as NamingRecord);
  } catch {
    record = undefined;
  }
  const key = record && typeof record.key === 'string' ? Buffer.from(record.key, 'base64') : undefined;
  if (!record || !key || key.length !== 32) {
    // Never make a new one here: every key name in this Redis depends on the one that is there.
    throw new KeyNamingError(
      `The key-naming record ${name} in Redis is sealed under a data key this process does not have. ` +
        'Put the data key it was sealed with back in SWITCHBOARD_DATA_KEYS (old keys stay there until ' +
        'every process has started once with the new one).',
    );
  }
  // Re-sealed under the current data key, so that the old one can be retired: the name key itself never changes.
  await redis.set(name, cipher.seal(JSON.stringify(record), NAMING_PLACE));
  return keyNaming(key);
}
