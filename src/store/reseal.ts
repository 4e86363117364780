// Seals again, where it lies, a value found sealed the old way (without its place) or under an old key.
import type { Connection } from './connections.js';
import type { DataCipher, SealedPlace } from './cipher.js';
import { Script } from './scripts.js';

/**
 * Replace a value only if it is still the one that was read (a writer in between wins), keeping its TTL.
 * KEYS: the key. ARGV: 'string' | 'hash' | 'list', field or index ('' for a string), read value, new value.
 */
const RESEAL = `
local kind, at = ARGV[1], ARGV[2]
if kind == 'string' then
  if redis.call('GET', KEYS[1]) ~= ARGV[3] then return 0 end
  redis.call('SET', KEYS[1], ARGV[4], 'KEEPTTL')
elseif kind == 'hash' then
  if redis.call('HGET', KEYS[1], at) ~= ARGV[3] then return 0 end
  redis.call('HSET', KEYS[1], at, ARGV[4])
else
  if redis.call('LINDEX', KEYS[1], at) ~= ARGV[3] then return 0 end
  redis.call('LSET', KEYS[1], at, ARGV[4])
end
return 1`;

const reseal = new Script<[key: string, kind: string, at: string, read: string, sealed: string], number>(
  1,
  RESEAL,
);

/** Where a sealed value lies: a string key, a hash field or a list item. */
export type SealedSpot = { key: string; field?: string; index?: number };

export class Resealer {
  constructor(
    private readonly redis: Connection,
    private readonly cipher: DataCipher,
  ) {}

  /**
   * Opens a value; one that is stale is sealed again for its place and written back. Returns the
   * plain text (undefined when it does not open) and the value now stored. A failed write-back is
   * left for the next read: the value opened, which is all this read needs.
   */
  async open(
    spot: SealedSpot,
    sealed: string,
    place: SealedPlace,
  ): Promise<{ plain: string | undefined; sealed: string }> {
    const plain = this.cipher.open(sealed, place);
    if (plain === undefined || !this.cipher.stale(sealed)) return { plain, sealed };
    const fresh = this.cipher.seal(plain, place);
    const [kind, at] =
      spot.field !== undefined
        ? ['hash', spot.field]
        : spot.index !== undefined
          ? ['list', String(spot.index)]
          : ['string', ''];
    const written = await reseal.run(this.redis, spot.key, kind, at, sealed, fresh).catch(() => 0);
    return { plain, sealed: written === 1 ? fresh : sealed };
  }
}
