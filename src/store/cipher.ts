// AES-256-GCM for everything kept in Redis that could be a secret, with key rotation.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encrypts values at rest. The current key encrypts; the old keys only decrypt, so keys can be
 * rotated without losing cached tokens. A value sealed under a key we no longer know opens to
 * `undefined` (treated as missing), never to an error.
 */
export interface DataCipher {
  seal(plain: string): string;
  open(sealed: string): string | undefined;
}

export class DataKeyError extends Error {}

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

export function createDataCipher(current: string, old: string[] = []): DataCipher {
  const primary = parseKey(current, 'SWITCHBOARD_DATA_KEY');
  const keys = new Map<string, Buffer>([[primary.id, primary.bytes]]);
  for (const text of old) {
    const key = parseKey(text, 'SWITCHBOARD_DATA_KEYS');
    if (!keys.has(key.id)) keys.set(key.id, key.bytes);
  }
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', primary.bytes, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${primary.id}.${Buffer.concat([iv, tag, body]).toString('base64url')}`;
    },
    open(sealed) {
      const dot = sealed.indexOf('.');
      if (dot < 0) return undefined;
      const key = keys.get(sealed.slice(0, dot));
      if (!key) return undefined;
      const raw = Buffer.from(sealed.slice(dot + 1), 'base64url');
      if (raw.length < 28) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
