// AES-256-GCM for everything kept in Redis that could be a secret, bound to where it is kept, with key rotation.
import { createCipheriv, createDecipheriv, createHash, randomFillSync } from 'node:crypto';

/**
 * Where a sealed value belongs, as names from the general to the particular: what kind of record,
 * whose (workspace, user or conversation), which field. It is authenticated with the value (GCM's
 * associated data) and never stored: a value copied to another record or field does not open there.
 * It names the logical place, not the Redis key, so renaming keys does not orphan values.
 */
export type SealedPlace = readonly (string | null)[];

/**
 * Encrypts values at rest. The current key encrypts; the old keys only decrypt, so keys can be
 * rotated without losing cached tokens. A value sealed under a key we no longer know, or for another
 * place, opens to `undefined` (treated as missing), never to an error.
 */
export interface DataCipher {
  seal(plain: string, place: SealedPlace): string;
  open(sealed: string, place: SealedPlace): string | undefined;
  /**
   * A value that opens but should be sealed again: sealed before values were bound to their place
   * (it opens wherever it is found until then), or under an old key.
   */
  stale(sealed: string): boolean;
  /** Sealed with a place, so by a version that names keys the keyed way (never found under an old name). */
  bound(sealed: string): boolean;
}

export class DataKeyError extends Error {
  override readonly name: string = 'DataKeyError';
}

interface Key {
  id: string;
  bytes: Buffer;
}

function parseKey(text: string, variable: string): Key {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== 32) {
    throw new DataKeyError(
      `${variable} must be 32 bytes, base64-encoded (got ${bytes.length} bytes). Make one with: openssl rand -base64 32`,
    );
  }
  // A short key id (not secret: a hash prefix) tells which key sealed a value.
  return { id: createHash('sha256').update(bytes).digest('base64url').slice(0, 6), bytes };
}

/** The fixed key of sandbox mode: shared by every sandbox process, useless for real data. */
export const SANDBOX_DATA_KEY = createHash('sha256').update('switchboard sandbox data key').digest('base64');

/**
 * The envelope's version: `2.<key id>.<iv|tag|body>` carries the place as associated data; the first
 * format, `<key id>.<iv|tag|body>`, had none (a key id is 6 characters, so the two cannot be confused).
 */
const BOUND = '2';

function associatedData(place: SealedPlace): Buffer {
  // JSON keeps the names apart: ["a.b","c"] and ["a","b.c"] are different places. Not cached: measured,
  // a map of places cost more than the copy it saves (most places are a new conversation's).
  return Buffer.from(JSON.stringify(place), 'utf8');
}

const IV_BYTES = 12;
/** IVs drawn from the CSPRNG at a time: one call per 512 seals rather than one per seal. */
const IV_POOL_BYTES = IV_BYTES * 512;
const ivPool = Buffer.alloc(IV_POOL_BYTES);
let ivOffset = IV_POOL_BYTES;

/**
 * A fresh random IV. Its bytes are a view of the pool, valid until the pool is refilled: the caller
 * copies them out before returning (seal is synchronous). Each byte is handed out once, then the whole
 * pool is drawn again, so no IV repeats any more than with one `randomBytes(12)` per seal.
 */
function nextIv(): Buffer {
  if (ivOffset === IV_POOL_BYTES) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

function decrypt(key: Buffer, payload: string, aad: Buffer | undefined): string | undefined {
  const raw = Buffer.from(payload, 'base64url');
  if (raw.length < 28) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = decipher.update(raw.subarray(28));
    // GCM's final() yields no bytes; it checks the tag, and nothing is returned unless it passes.
    decipher.final();
    return plain.toString('utf8');
  } catch {
    return undefined;
  }
}

/** The version, key id and payload of an envelope (version '' for the first, unbound format). */
function envelope(sealed: string): { version: string; keyId: string; payload: string } | undefined {
  const parts = sealed.split('.');
  if (parts.length === 2) return { version: '', keyId: parts[0]!, payload: parts[1]! };
  if (parts.length === 3 && parts[0] === BOUND)
    return { version: BOUND, keyId: parts[1]!, payload: parts[2]! };
  return undefined;
}

export function createDataCipher(current: string, old: string[] = []): DataCipher {
  const primary = parseKey(current, 'SWITCHBOARD_DATA_KEY');
  const keys = new Map<string, Buffer>([[primary.id, primary.bytes]]);
  for (const text of old) {
    const key = parseKey(text, 'SWITCHBOARD_DATA_KEYS');
    if (!keys.has(key.id)) keys.set(key.id, key.bytes);
  }
  return {
    seal(plain, place) {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', primary.bytes, iv);
      cipher.setAAD(associatedData(place));
      const body = cipher.update(plain, 'utf8');
      // GCM's final() yields no bytes (a stream mode): it only makes the tag.
      cipher.final();
      return `${BOUND}.${primary.id}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    open(sealed, place) {
      const found = envelope(sealed);
      const key = found && keys.get(found.keyId);
      if (!found || !key) return undefined;
      return decrypt(key, found.payload, found.version === BOUND ? associatedData(place) : undefined);
    },
    stale(sealed) {
      const found = envelope(sealed);
      return found !== undefined && (found.version !== BOUND || found.keyId !== primary.id);
    },
    bound(sealed) {
      return envelope(sealed)?.version === BOUND;
    },
  };
}
