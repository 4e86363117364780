// Moves data written under the unkeyed key names of earlier versions to its keyed names, once, at start-up.
import type { Redis } from 'ioredis';
import type { DataCipher, SealedPlace } from './cipher.js';
import { places } from './places.js';
import { legacyHashes, type IdentityKeys, type UserScope } from './identity-keys.js';
import { legacyConversationId, legacyNamesDone, type Keys } from './keys.js';

export interface LegacyNamesInput {
  /** For commands (a cluster routes them). */
  redis: Redis;
  /** Where to SCAN: every master of a cluster, or the one Redis. */
  nodes: Redis[];
  keys: Keys;
  identityKeys: IdentityKeys;
  cipher: DataCipher;
  /** The configured workspaces, each with its bots: a user's workspace and an identity's conversations are found among them. */
  workspaces: Map<string, string[]>;
}

export interface LegacyNamesReport {
  /** False when an earlier start-up already found nothing left to move (nothing was scanned). */
  ran: boolean;
  identities: number;
  users: number;
  optOuts: number;
  /** Records whose name matches neither naming: another key-naming key, or a workspace no longer configured. */
  unknown: number;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Renames one key, whatever its type, keeping its TTL. Old and new names carry different hash tags, so in
 * a cluster they may live on different nodes: DUMP and RESTORE, not RENAME. When the new name exists
 * already (a process of the new version wrote it first), it wins and the old copy is dropped.
 */
async function move(redis: Redis, from: string, to: string): Promise<boolean> {
  const [dump, ttl] = await Promise.all([redis.dumpBuffer(from), redis.pttl(from)]);
  // -2: it expired between the two; restored with no TTL it would live for ever.
  if (dump === null || ttl === -2) return false;
  try {
    await redis.restore(to, Math.max(0, ttl), dump);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYKEY')) throw error;
  }
  await redis.del(from);
  return true;
}

/**
 * Finds what earlier versions named by an unkeyed SHA-256 (channel identities with their history, lockouts
 * and link-code failures; users with their profile, identities, tokens, history and link-code index;
 * opt-outs) and moves it under the keyed names. A name can only be recomputed from what the data says
 * about itself (the sealed identity of an identity record, the user id of a profile), so that is what is
 * read. Link codes cannot be moved (only their hash is known): they are redeemed under their old name
 * until they expire. Conversations in flight keep their old id until their queued events are handled;
 * only the opt-out, which lives forever, is moved.
 *
 * Runs at every start-up until one finds nothing left to move, so that what old processes still wrote
 * during a rolling upgrade is moved by the next start-up; then a marker stops it for good.
 */
export async function migrateLegacyNames(input: LegacyNamesInput): Promise<LegacyNamesReport> {
  const { redis, keys, identityKeys: ik, cipher } = input;
  const report: LegacyNamesReport = { ran: false, identities: 0, users: 0, optOuts: 0, unknown: 0 };
  if ((await redis.exists(legacyNamesDone(keys.prefix))) === 1) return report;
  report.ran = true;

  const identityRecord = new RegExp(`^${escapeRegExp(keys.prefix)}:i:\\{([A-Za-z0-9_-]{22})\\}$`);
  const profile = new RegExp(`^${escapeRegExp(keys.prefix)}:u:\\{([A-Za-z0-9_-]{22})\\}:profile$`);

  const moveIdentity = async (key: string, hash: string) => {
    const [sealedId, workspace] = await redis.hmget(key, 'id', 'ws');
    const identity =
      sealedId && workspace ? cipher.open(sealedId, places.identityAddress(workspace)) : undefined;
    if (identity === undefined || !workspace) {
      report.unknown++;
      return;
    }
    const target = ik.identityHash(workspace, identity);
    if (hash === legacyHashes.identity(workspace, identity)) {
      // The record last: it is what finds the rest, should a start-up stop half-way.
      await move(redis, ik.identityHistory(hash), ik.identityHistory(target));
      await move(redis, ik.lockout(hash), ik.lockout(target));
      await move(redis, ik.linkCodeFailures(hash), ik.linkCodeFailures(target));
      await move(redis, key, ik.identityRecord(target));
      report.identities++;
    } else if (hash !== target) {
      report.unknown++;
      return;
    }
    // Opt-outs are per conversation (bot × identity); the identity record is what names the identity.
    for (const bot of input.workspaces.get(workspace) ?? []) {
      const from = keys.optOut(legacyConversationId(bot, identity));
      if (await move(redis, from, keys.optOut(keys.conversationId(bot, identity)))) report.optOuts++;
    }
  };

  const moveUser = async (key: string, hash: string) => {
    const sealedProfile = await redis.get(key);
    // Sealed with its place: written by this version, under its keyed name already.
    if (sealedProfile !== null && cipher.bound(sealedProfile)) return;
    const stored = openJson<{ userId?: unknown; externalId?: unknown }>(cipher, sealedProfile, LEGACY);
    if (typeof stored?.userId !== 'string') {
      report.unknown++;
      return;
    }
    const base = {
      userId: stored.userId,
      ...(typeof stored.externalId === 'string' ? { externalId: stored.externalId } : {}),
    };
    // A profile does not name its workspace: the one whose old hash is this key's is it.
    const scopes: UserScope[] = [...input.workspaces.keys()].map((workspace) => ({ workspace, ...base }));
    const scope = scopes.find((s) => legacyHashes.scope(s) === hash);
    if (!scope) {
      if (!scopes.some((s) => ik.scopeHash(s) === hash)) report.unknown++;
      return;
    }
    const from = ik.userKeysOf(hash);
    const to = ik.userKeysOf(ik.scopeHash(scope));
    // The identity list is a hash by identity hash: its fields are renamed too.
    const renamed: Record<string, string> = {};
    for (const sealed of Object.values(await redis.hgetall(from.identities))) {
      const identity = openJson<{ identity?: unknown }>(cipher, sealed, LEGACY)?.identity;
      if (typeof identity === 'string') renamed[ik.identityHash(scope.workspace, identity)] = sealed;
    }
    if (Object.keys(renamed).length > 0) await redis.hset(to.identities, renamed);
    await redis.del(from.identities);
    for (const component of await redis.hkeys(from.tokenIndex)) {
      await move(redis, from.token(component), to.token(component));
    }
    await move(redis, from.tokenIndex, to.tokenIndex);
    await move(redis, from.history, to.history);
    await move(redis, from.linkCodes, to.linkCodes);
    await move(redis, from.profile, to.profile);
    report.users++;
  };

  // Page by page, each page's records at once: a large Redis is not held in memory, nor walked one
  // round trip at a time. A record moved during the SCAN may come up again under its new name: it is
  // then recognised as keyed already.
  for (const node of input.nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(
        cursor,
        'MATCH',
        `${escapeGlob(keys.prefix)}:[iu]:{*`,
        'COUNT',
        1000,
      );
      cursor = next;
      await Promise.all(
        found.map((key) => {
          const i = identityRecord.exec(key);
          if (i) return moveIdentity(key, i[1]!);
          const u = profile.exec(key);
          return u ? moveUser(key, u[1]!) : undefined;
        }),
      );
    } while (cursor !== '0');
  }

  if (report.identities + report.users + report.optOuts === 0) {
    await redis.set(legacyNamesDone(keys.prefix), String(Date.now()));
  }
  return report;
}

/**
 * The place a value under an old name is opened for. Earlier versions sealed without a place, so such a
 * value opens wherever it is read; a value sealed with a place cannot be under an old name.
 */
const LEGACY: SealedPlace = ['legacy-name'];

function openJson<T>(cipher: DataCipher, sealed: string | null, place: SealedPlace): T | undefined {
  const plain = sealed === null ? undefined : cipher.open(sealed, place);
  try {
    return plain === undefined ? undefined : (JSON.parse(plain) as T);
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
