// Seals a value the way Switchboard did before sealed values were bound to their place, for migration tests.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/** The first envelope, `<key id>.<iv|tag|body>` in base64url, with no associated data. */
export function sealTheOldWay(plain: string, key: string): string {
  const bytes = Buffer.from(key, 'base64');
  const id = createHash('sha256').update(bytes).digest('base64url').slice(0, 6);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', bytes, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${id}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}
