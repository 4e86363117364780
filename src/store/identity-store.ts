// Users, channel identities, tiers, profiles, history and erasure in Redis, sealed at rest.
import type { Connection } from './connections.js';
import { Script } from './scripts.js';
import type { TokenStore } from './token-store.js';
import type { Channel } from '../core/events.js';
import type { EventSink } from '../operator-events/sink.js';
import type { DataCipher, SealedPlace } from './cipher.js';
import { MAX_CALL_MS } from './keys.js';
import { places } from './places.js';
import { NO_REPLICAS, writeDurably, type Durability } from './durability.js';
import { Resealer, type SealedSpot } from './reseal.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';
import {
  ANONYMOUS_PREFIX,
  addressOfIdentity,
  channelOfIdentity,
  type CustomData,
  type HistoryEntry,
  type ResolvedUser,
  type StoredHistoryEntry,
  type OperatorUserView,
  type UserIdentityView,
  type VerifiedVia,
} from '../identity/types.js';

/** An identity the operator wants to register already belongs to another verified user (HTTP 409). */
export class IdentityInUseError extends Error {
  override readonly name = 'IdentityInUseError';
  constructor(readonly identity: string) {
    super(`${identity} already belongs to another user; remove it from that user first`);
  }
}

/**
 * A login verified an identity as one user while it belongs to another, and the workspace forbids moves
 * (`identityMoves: forbid`): nothing was written. The caller refuses the login and tells the user.
 */
export class IdentityMoveForbiddenError extends Error {
  override readonly name = 'IdentityMoveForbiddenError';
  constructor() {
    super('the identity belongs to another verified user and this workspace forbids moving it');
  }
}

/** Whether a login may move an identity from the user it belongs to to another (the workspace's `identityMoves`). */
export type IdentityMoves = 'allow' | 'forbid';

/** Which verified user an identity belongs to (sealed in the identity record's `bind` field). */
interface Binding {
  userId: string;
  externalId?: string;
  via: VerifiedVia;
  at: number;
  /** Set when a voice identity was verified inside one call: honoured only in that call (caller ID is not proof). */
  callId?: string;
}

/** A verified user's profile (sealed). */
interface StoredProfile {
  userId: string;
  externalId?: string;
  name?: string;
  email?: string;
  customData?: CustomData;
  via: VerifiedVia;
  createdAt: number;
  updatedAt: number;
}

/** What an identity told a `profile` step: unverified. */
interface Claims {
  name?: string;
  email?: string;
  at: number;
}

/** An entry of a verified user's identity list (sealed). */
interface IdentityLink {
  identity: string;
  via: VerifiedVia;
  at: number;
  callId?: string;
}

interface SealedHistory {
  i: string;
  d: 'in' | 'out';
  c: Channel;
  t: string;
  a: number;
  s?: 1;
}

export const REDACTED = '[redacted]';

/**
 * First contact or activity of an identity: remember it (sealed), and let an identity that belongs to
 * nobody expire after a quiet period. KEYS: record. ARGV: sealed identity, workspace, now, ttl seconds.
 */
const TOUCH = `
redis.call('HSETNX', KEYS[1], 'id', ARGV[1])
redis.call('HSET', KEYS[1], 'ws', ARGV[2])
redis.call('HSETNX', KEYS[1], 'seen', ARGV[3])
if redis.call('HEXISTS', KEYS[1], 'bind') == 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 1`;

/**
 * An identity's own history entries and its touch, in one call (the two keys share its slot).
 * KEYS: history, record. ARGV: history limit, history ttl, then TOUCH's ARGV (4), then the sealed entries.
 */
const APPEND_AND_TOUCH = `
redis.call('LPUSH', KEYS[1], unpack(ARGV, 7))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HSETNX', KEYS[2], 'id', ARGV[3])
redis.call('HSET', KEYS[2], 'ws', ARGV[4])
redis.call('HSETNX', KEYS[2], 'seen', ARGV[5])
if redis.call('HEXISTS', KEYS[2], 'bind') == 0 then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
return 1`;

/** Unbind an identity only if it is still bound as we read it (another request may have rebound it). */
const UNBIND_IF = `
if redis.call('HGET', KEYS[1], 'bind') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'bind')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Delete an identity's keys only if it is still bound as we read it. KEYS: record, history, lockout, link failures. */
const ERASE_IF = `
if redis.call('HGET', KEYS[1], 'bind') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])`;

const scripts = {
  touch: new Script<
    [record: string, sealedIdentity: string, workspace: string, now: number, ttl: number],
    number
  >(1, TOUCH),
  appendAndTouch: new Script<
    [history: string, record: string, limit: number, ttl: number, ...touch: (string | number)[]],
    number
  >(2, APPEND_AND_TOUCH),
  unbindIf: new Script<[record: string, expected: string, ttl: number], number>(1, UNBIND_IF),
  eraseIf: new Script<
    [record: string, history: string, lockout: string, failures: string, expected: string],
    number
  >(4, ERASE_IF),
};

export interface IdentityStoreOptions {
  redis: Connection;
  keys: IdentityKeys;
  cipher: DataCipher;
  tokens: TokenStore;
  /** Receives `user.verified` and `identity.moved`; absent: no events. */
  events?: EventSink;
  /** Replicas that must hold a history line before it counts as written (SWITCHBOARD_DURABILITY). */
  durability?: Durability;
  now?: () => number;
  /** Entries kept per history (a verified user's, or an identity's). */
  historyLimit?: number;
  /** Seconds a history lives after its last entry. */
  historyTtlSeconds?: number;
  /** Seconds an identity that belongs to no verified user is remembered after its last activity. */
  anonymousTtlSeconds?: number;
  /**
   * Called after a user is erased, with the identities they had: lets the runtime wipe what other stores
   * keep about the user and those identities (conversation state, inboxes, queued operator events).
   */
  onErase?: (erased: { workspace: string; scope: UserScope; identities: string[] }) => Promise<void>;
}

export interface ResolveInput {
  workspace: string;
  /** The channel identity, e.g. `voice:+15551234567`. */
  identity: string;
  /** The identity's channel (read from the identity when absent). */
  channel?: Channel;
  /** The bot's `voice.trustCallerId`: only then does a call borrow the same number's SMS or WhatsApp user. */
  trustCallerId?: boolean;
  /** Voice: the call (CallSid), so that a caller verified earlier in this call stays verified. */
  callId?: string;
}

export interface MarkVerifiedInput {
  workspace: string;
  identity: string;
  /** The user id the auth component yielded (or the link code's). */
  userId: string;
  /** Absent on an auth success: the identity's current externalId is kept when it is the same user. */
  externalId?: string;
  via: 'auth' | 'link';
  /** Voice: the call in which the caller proved who they are. */
  callId?: string;
  /** The auth component that verified the user (goes into the `user.verified` event). */
  component?: string;
  /** A stable key for the `user.verified` event (see `EventInput.key`; `identity.moved`'s is derived): a repeated turn reports once. */
  eventKey?: string;
  /** Data that comes with the verification (a link code's), replacing what was there. */
  profile?: { name?: string; email?: string; customData?: CustomData };
  /** When the identity belongs to another user: 'allow' (the default) moves it, 'forbid' throws `IdentityMoveForbiddenError`. */
  moves?: IdentityMoves;
}

export interface RegisterInput {
  workspace: string;
  externalId?: string;
  userId: string;
  name?: string;
  email?: string;
  customData?: CustomData;
  /** The complete list of the user's identities (`sms:+1…`); identities no longer listed are released. */
  identities: string[];
}

function sameScope(binding: Binding, scope: UserScope): boolean {
  return binding.userId === scope.userId && binding.externalId === scope.externalId;
}

function scopeOf(workspace: string, binding: Binding): UserScope {
  return {
    workspace,
    userId: binding.userId,
    ...(binding.externalId !== undefined ? { externalId: binding.externalId } : {}),
  };
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The identity store. A channel identity belongs to at most one verified user per workspace; below
 * that, the user is the identity itself, with a derived id `anon:<hash>` and its own history.
 */
export class IdentityStore {
  private readonly redis: Connection;
  private readonly keys: IdentityKeys;
  private readonly cipher: DataCipher;
  private readonly resealer: Resealer;
  private readonly now: () => number;
  private readonly historyLimit: number;
  private readonly historyTtl: number;
  private readonly anonymousTtl: number;

  constructor(private readonly options: IdentityStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
    this.cipher = options.cipher;
    this.resealer = new Resealer(options.redis, options.cipher);
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 200;
    this.historyTtl = options.historyTtlSeconds ?? 90 * 86_400;
    this.anonymousTtl = options.anonymousTtlSeconds ?? 90 * 86_400;
  }

  /** The derived user id of an identity below the verified tier. */
  anonymousId(workspace: string, identity: string): string {
    return `${ANONYMOUS_PREFIX}${this.keys.identityHash(workspace, identity)}`;
  }

  // --- sealed values ---

  private seal(value: unknown, place: SealedPlace): string {
    return this.cipher.seal(JSON.stringify(value), place);
  }

  /** A sealed JSON value and what is stored now (a value sealed the old way is sealed again where it lies). */
  private async openAt<T>(
    spot: SealedSpot,
    sealed: string | null | undefined,
    place: SealedPlace,
  ): Promise<{ value: T; sealed: string } | undefined> {
    if (sealed === null || sealed === undefined) return undefined;
    const opened = await this.resealer.open(spot, sealed, place);
    if (opened.plain === undefined) return undefined;
    try {
      return { value: JSON.parse(opened.plain) as T, sealed: opened.sealed };
    } catch {
      return undefined;
    }
  }

  private async open<T>(
    spot: SealedSpot,
    sealed: string | null | undefined,
    place: SealedPlace,
  ): Promise<T | undefined> {
    return (await this.openAt<T>(spot, sealed, place))?.value;
  }

  private async readProfile(scope: UserScope): Promise<StoredProfile | undefined> {
    const key = this.keys.userProfile(scope);
    return this.open<StoredProfile>({ key }, await this.redis.get(key), places.profile(scope));
  }

  private async readBinding(
    workspace: string,
    identity: string,
  ): Promise<{ binding: Binding; sealed: string } | undefined> {
    const key = this.keys.identityRecord(this.keys.identityHash(workspace, identity));
    const sealed = await this.redis.hget(key, 'bind');
    const opened = await this.openAt<Binding>(
      { key, field: 'bind' },
      sealed,
      places.binding(workspace, identity),
    );
    return opened ? { binding: opened.value, sealed: opened.sealed } : undefined;
  }

  // --- resolving ---

  /** Who is behind an identity now. Reads only: first contact is recorded by `touch` or `appendHistory`. */
  async resolveUser(input: ResolveInput): Promise<ResolvedUser> {
    const { workspace, identity } = input;
    const channel = input.channel ?? channelOfIdentity(identity) ?? 'sms';
    const hash = this.keys.identityHash(workspace, identity);
    const record = this.keys.identityRecord(hash);
    const [bindSealed, claimsSealed] = await this.redis.hmget(record, 'bind', 'claims');
    let binding = await this.open<Binding>(
      { key: record, field: 'bind' },
      bindSealed,
      places.binding(workspace, identity),
    );
    if (binding && channel === 'voice' && !input.trustCallerId) {
      // Caller ID can be spoofed: a voice binding counts only when the operator made it, or in the call that proved it.
      // A call lasts at most MAX_CALL_MS: the same CallSid later is a replay, not the call that proved it.
      const provenInThisCall =
        binding.callId !== undefined &&
        binding.callId === input.callId &&
        this.now() - binding.at <= MAX_CALL_MS;
      if (binding.via !== 'operator' && !provenInThisCall) binding = undefined;
    }
    if (!binding && channel === 'voice' && input.trustCallerId) {
      const address = addressOfIdentity(identity);
      for (const other of ['sms', 'whatsapp'] as const) {
        binding = (await this.readBinding(workspace, `${other}:${address}`))?.binding;
        if (binding) break;
      }
    }
    if (binding) {
      const profile = await this.readProfile(scopeOf(workspace, binding));
      if (profile) {
        return compact({
          workspace,
          userId: binding.userId,
          externalId: binding.externalId,
          tier: 'verified' as const,
          name: profile.name,
          email: profile.email,
          customData: profile.customData,
          identity,
          channel,
        });
      }
    }
    const claims = await this.open<Claims>(
      { key: record, field: 'claims' },
      claimsSealed,
      places.claims(workspace, identity),
    );
    const unverified = claims !== undefined && (claims.name !== undefined || claims.email !== undefined);
    return compact({
      workspace,
      userId: `${ANONYMOUS_PREFIX}${hash}`,
      tier: unverified ? ('unverified' as const) : ('anonymous' as const),
      name: unverified ? claims.name : undefined,
      email: unverified ? claims.email : undefined,
      identity,
      channel,
    });
  }

  /** Records first contact (or activity) of an identity; an identity nobody verified expires after a quiet period. */
  async touch(workspace: string, identity: string): Promise<void> {
    await scripts.touch.run(
      this.redis,
      this.keys.identityRecord(this.keys.identityHash(workspace, identity)),
      this.cipher.seal(identity, places.identityAddress(workspace)),
      workspace,
      this.now(),
      this.anonymousTtl,
    );
  }

  // --- becoming someone ---

  /**
   * An auth step succeeded (or a link code was redeemed): the identity now belongs to the verified user.
   * When it belonged to another verified user, that is a move (see docs/identity.md): with `moves:
   * 'forbid'` nothing is written and `IdentityMoveForbiddenError` is thrown; else the identity leaves the
   * other user (whose profile, tokens, history and other identities stay theirs) and `identity.moved` is
   * emitted. Emits `user.verified`. Returns the user as `resolveUser` will see them in this conversation.
   */
  async markVerified(input: MarkVerifiedInput): Promise<ResolvedUser> {
    const { workspace, identity } = input;
    const channel = channelOfIdentity(identity) ?? 'sms';
    const existing = await this.readBinding(workspace, identity);
    let externalId = input.externalId;
    if (input.via === 'auth' && externalId === undefined && existing?.binding.userId === input.userId) {
      externalId = existing.binding.externalId;
    }
    const scope: UserScope = {
      workspace,
      userId: input.userId,
      ...(externalId !== undefined ? { externalId } : {}),
    };
    const from = existing && !sameScope(existing.binding, scope) ? existing.binding : undefined;
    if (from && input.moves === 'forbid') throw new IdentityMoveForbiddenError();
    const profile = await this.upsertProfile(scope, input.profile ?? {}, input.via);
    await this.bind(workspace, identity, scope, input.via, input.callId, existing);
    const component = input.component ? { component: input.component } : {};
    if (from) {
      await this.options.events?.emit({
        type: 'identity.moved',
        workspace,
        externalId,
        userId: input.userId,
        channel,
        identity,
        data: { identity, from: from.userId, to: input.userId, via: input.via, ...component },
        formerUser: { userId: from.userId, externalId: from.externalId },
        ...(input.eventKey ? { key: `${input.eventKey}:identity.moved` } : {}),
      });
    }
    await this.options.events?.emit({
      type: 'user.verified',
      workspace,
      externalId,
      userId: input.userId,
      channel,
      identity,
      data: { identity, via: input.via, ...component },
      ...(input.eventKey ? { key: input.eventKey } : {}),
    });
    return compact({
      workspace,
      userId: input.userId,
      externalId,
      tier: 'verified' as const,
      name: profile.name,
      email: profile.email,
      customData: profile.customData,
      identity,
      channel,
    });
  }

  /** A `profile` step: stored on the identity as unverified, whatever the identity's tier. */
  async saveProfile(input: {
    workspace: string;
    identity: string;
    name?: string;
    email?: string;
  }): Promise<void> {
    const record = this.keys.identityRecord(this.keys.identityHash(input.workspace, input.identity));
    const place = places.claims(input.workspace, input.identity);
    const previous = await this.open<Claims>(
      { key: record, field: 'claims' },
      await this.redis.hget(record, 'claims'),
      place,
    );
    const claims: Claims = compact({
      name: input.name ?? previous?.name,
      email: input.email ?? previous?.email,
      at: this.now(),
    });
    await this.redis.hset(record, 'claims', this.seal(claims, place));
    await this.touch(input.workspace, input.identity);
  }

  /** The operator registers or updates a verified user (`POST /v1/users`). */
  async registerUser(input: RegisterInput): Promise<void> {
    const scope: UserScope = {
      workspace: input.workspace,
      userId: input.userId,
      ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
    };
    const wanted = [...new Set(input.identities)];
    const bindings = new Map<string, { binding: Binding; sealed: string } | undefined>();
    for (const identity of wanted) {
      const current = await this.readBinding(input.workspace, identity);
      if (current && !sameScope(current.binding, scope)) throw new IdentityInUseError(identity);
      bindings.set(identity, current);
    }
    await this.upsertProfile(
      scope,
      { name: input.name, email: input.email, customData: input.customData },
      'operator',
    );
    for (const link of await this.links(scope)) {
      if (!wanted.includes(link.identity)) await this.unbind(scope, link.identity);
    }
    for (const identity of wanted) {
      await this.bind(input.workspace, identity, scope, 'operator', undefined, bindings.get(identity));
    }
  }

  private async upsertProfile(
    scope: UserScope,
    patch: { name?: string | undefined; email?: string | undefined; customData?: CustomData | undefined },
    via: VerifiedVia,
  ): Promise<StoredProfile> {
    const previous = await this.readProfile(scope);
    const now = this.now();
    const profile: StoredProfile = compact({
      userId: scope.userId,
      externalId: scope.externalId,
      name: patch.name ?? previous?.name,
      email: patch.email ?? previous?.email,
      customData: patch.customData ?? previous?.customData,
      via,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    });
    await this.redis.set(this.keys.userProfile(scope), this.seal(profile, places.profile(scope)));
    return profile;
  }

  private async bind(
    workspace: string,
    identity: string,
    scope: UserScope,
    via: VerifiedVia,
    callId: string | undefined,
    previous: { binding: Binding; sealed: string } | undefined,
  ): Promise<void> {
    const hash = this.keys.identityHash(workspace, identity);
    const record = this.keys.identityRecord(hash);
    const now = this.now();
    const binding: Binding = compact({
      userId: scope.userId,
      externalId: scope.externalId,
      via,
      at: now,
      callId,
    });
    await this.redis
      .multi()
      .hset(record, {
        id: this.cipher.seal(identity, places.identityAddress(workspace)),
        ws: workspace,
        bind: this.seal(binding, places.binding(workspace, identity)),
      })
      .hsetnx(record, 'seen', String(now))
      .persist(record)
      .exec();
    const link: IdentityLink = compact({ identity, via, at: now, callId });
    await this.redis.hset(this.keys.userIdentities(scope), hash, this.seal(link, places.identityLink(scope)));
    if (previous && !sameScope(previous.binding, scope)) {
      await this.redis.hdel(this.keys.userIdentities(scopeOf(workspace, previous.binding)), hash);
    }
  }

  private async unbind(scope: UserScope, identity: string): Promise<void> {
    const hash = this.keys.identityHash(scope.workspace, identity);
    const current = await this.readBinding(scope.workspace, identity);
    if (current && sameScope(current.binding, scope)) {
      await scripts.unbindIf.run(
        this.redis,
        this.keys.identityRecord(hash),
        current.sealed,
        this.anonymousTtl,
      );
    }
    await this.redis.hdel(this.keys.userIdentities(scope), hash);
  }

  /** A verified user's identities that still point back at them. */
  private async links(scope: UserScope): Promise<(IdentityLink & { hash: string })[]> {
    const key = this.keys.userIdentities(scope);
    const entries = await this.redis.hgetall(key);
    const links: (IdentityLink & { hash: string })[] = [];
    for (const [hash, sealed] of Object.entries(entries)) {
      const link = await this.open<IdentityLink>({ key, field: hash }, sealed, places.identityLink(scope));
      if (!link) continue;
      const current = await this.readBinding(scope.workspace, link.identity);
      if (current && sameScope(current.binding, scope)) links.push({ ...link, hash });
    }
    return links.sort((a, b) => a.identity.localeCompare(b.identity));
  }

  // --- reading for the operator ---

  /** An anonymous user id's identity, if it is one of this workspace's. */
  private async anonymousIdentity(
    scope: UserScope,
  ): Promise<{ hash: string; identity: string; claims?: Claims; seen?: number } | undefined> {
    if (!scope.userId.startsWith(ANONYMOUS_PREFIX) || scope.externalId !== undefined) return undefined;
    const hash = scope.userId.slice(ANONYMOUS_PREFIX.length);
    if (!/^[A-Za-z0-9_-]{22}$/.test(hash)) return undefined;
    const record = this.keys.identityRecord(hash);
    const [sealedId, ws, claims, seen] = await this.redis.hmget(record, 'id', 'ws', 'claims', 'seen');
    if (ws !== scope.workspace || !sealedId) return undefined;
    const { plain: identity } = await this.resealer.open(
      { key: record, field: 'id' },
      sealedId,
      places.identityAddress(scope.workspace),
    );
    // The hash is derived from (workspace, identity): a record that does not match it is not this user.
    if (identity === undefined || this.keys.identityHash(scope.workspace, identity) !== hash)
      return undefined;
    const opened = await this.open<Claims>(
      { key: record, field: 'claims' },
      claims,
      places.claims(scope.workspace, identity),
    );
    return compact({ hash, identity, claims: opened, seen: seen ? Number(seen) : undefined });
  }

  /** Whether a verified user exists (the operator API's 404). */
  async userExists(scope: UserScope): Promise<boolean> {
    if (scope.userId.startsWith(ANONYMOUS_PREFIX)) return (await this.anonymousIdentity(scope)) !== undefined;
    return (await this.redis.exists(this.keys.userProfile(scope))) === 1;
  }

  /** What the operator API shows about a user, or undefined when this workspace has no such user. */
  async getUser(scope: UserScope): Promise<OperatorUserView | undefined> {
    const anonymous = await this.anonymousIdentity(scope);
    if (anonymous) {
      const claimed =
        anonymous.claims && (anonymous.claims.name !== undefined || anonymous.claims.email !== undefined);
      const channel = channelOfIdentity(anonymous.identity) ?? 'sms';
      return compact({
        workspace: scope.workspace,
        userId: scope.userId,
        tier: claimed ? ('unverified' as const) : ('anonymous' as const),
        name: anonymous.claims?.name,
        email: anonymous.claims?.email,
        profileVerified: false,
        // Below the verified tier the one identity is the user, proven by nothing.
        identities: [
          {
            channel,
            address: addressOfIdentity(anonymous.identity),
            identity: anonymous.identity,
            verified: false,
          },
        ],
        tokens: [],
        createdAt: anonymous.seen,
        updatedAt: anonymous.claims?.at,
      });
    }
    if (scope.userId.startsWith(ANONYMOUS_PREFIX)) return undefined;
    const profile = await this.readProfile(scope);
    if (!profile) return undefined;
    const identities: UserIdentityView[] = (await this.links(scope)).map((link) => ({
      channel: channelOfIdentity(link.identity) ?? 'sms',
      address: addressOfIdentity(link.identity),
      identity: link.identity,
      verified: true,
      via: link.via,
      verifiedAt: link.at,
    }));
    return compact({
      workspace: scope.workspace,
      userId: scope.userId,
      externalId: scope.externalId,
      tier: 'verified' as const,
      name: profile.name,
      email: profile.email,
      customData: profile.customData,
      profileVerified: true,
      identities,
      tokens: await this.options.tokens.list(scope),
      createdAt: profile.createdAt,
      updatedAt: profile.updatedAt,
    });
  }

  // --- history ---

  private historyKey(scope: UserScope): string | undefined {
    if (scope.userId.startsWith(ANONYMOUS_PREFIX)) {
      return scope.externalId === undefined
        ? this.keys.identityHistory(scope.userId.slice(ANONYMOUS_PREFIX.length))
        : undefined;
    }
    return this.keys.userHistory(scope);
  }

  /** Below the verified tier a history is the identity's: each entry names it, and the reader checks that. */
  private historyPlace(scope: UserScope): SealedPlace {
    return scope.userId.startsWith(ANONYMOUS_PREFIX)
      ? places.identityHistory(scope.workspace)
      : places.userHistory(scope);
  }

  /**
   * One message of a conversation. A verified user's history is shared by their identities; below that,
   * each identity has its own. A secret answer is stored as `[redacted]`, never its text.
   */
  /** Appends entries (one round trip for a whole turn); a secret entry is stored as `[redacted]`. */
  async appendHistory(user: ResolvedUser, entries: HistoryEntry | HistoryEntry[]): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries];
    if (list.length === 0) return;
    const scope: UserScope =
      user.tier === 'verified'
        ? {
            workspace: user.workspace,
            userId: user.userId,
            ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
          }
        : { workspace: user.workspace, userId: this.anonymousId(user.workspace, user.identity) };
    const key = this.historyKey(scope);
    if (!key) return;
    const place = this.historyPlace(scope);
    const sealed = list.map((entry) =>
      this.seal(
        {
          i: user.identity,
          d: entry.direction,
          c: entry.channel,
          t: entry.secret ? REDACTED : entry.text,
          a: entry.at,
          ...(entry.secret ? { s: 1 as const } : {}),
        } satisfies SealedHistory,
        place,
      ),
    );
    if (user.tier !== 'verified' && scope.externalId === undefined) {
      // The identity's own history: its entries and its touch in one round trip.
      const hash = this.keys.identityHash(user.workspace, user.identity);
      await writeDurably(this.redis, this.options.durability ?? NO_REPLICAS, key, () =>
        scripts.appendAndTouch.run(
          this.redis,
          key,
          this.keys.identityRecord(hash),
          this.historyLimit,
          this.historyTtl,
          this.cipher.seal(user.identity, places.identityAddress(user.workspace)),
          user.workspace,
          this.now(),
          this.anonymousTtl,
          ...sealed,
        ),
      );
      return;
    }
    await writeDurably(this.redis, this.options.durability ?? NO_REPLICAS, key, () =>
      this.redis
        .multi()
        .lpush(key, ...sealed)
        .ltrim(key, 0, this.historyLimit - 1)
        .expire(key, this.historyTtl)
        .exec(),
    );
    if (user.tier !== 'verified') await this.touch(user.workspace, user.identity);
  }

  /** The last `limit` entries, oldest first. For an `anon:` id, that identity's own history only. */
  async readHistory(scope: UserScope, limit = 50): Promise<StoredHistoryEntry[]> {
    const key = this.historyKey(scope);
    if (!key || limit <= 0) return [];
    const sealed = await this.redis.lrange(key, 0, Math.min(limit, this.historyLimit) - 1);
    const place = this.historyPlace(scope);
    const anonymous = scope.userId.startsWith(ANONYMOUS_PREFIX)
      ? scope.userId.slice(ANONYMOUS_PREFIX.length)
      : undefined;
    const entries: StoredHistoryEntry[] = [];
    for (let index = sealed.length - 1; index >= 0; index--) {
      const value = await this.open<SealedHistory>({ key, index }, sealed[index], place);
      if (!value) continue;
      // An entry copied from another identity's history names that identity: not this one's.
      if (anonymous !== undefined && this.keys.identityHash(scope.workspace, value.i) !== anonymous) continue;
      entries.push({
        identity: value.i,
        direction: value.d,
        channel: value.c,
        text: value.t,
        at: value.a,
        ...(value.s ? { secret: true } : {}),
      });
    }
    return entries;
  }

  // --- erasure ---

  /**
   * Erases a user everywhere: profile, identities (their records, histories, lockouts), tokens, history,
   * outstanding link codes. Afterwards their identities are anonymous strangers. False when there was no such user.
   */
  async eraseUser(scope: UserScope): Promise<boolean> {
    const anonymous = await this.anonymousIdentity(scope);
    if (anonymous) {
      const h = anonymous.hash;
      await this.redis.del(
        this.keys.identityRecord(h),
        this.keys.identityHistory(h),
        this.keys.lockout(h),
        this.keys.linkCodeFailures(h),
      );
      await this.options.onErase?.({ workspace: scope.workspace, scope, identities: [anonymous.identity] });
      return true;
    }
    if (scope.userId.startsWith(ANONYMOUS_PREFIX)) return false;
    const userKeys = [
      this.keys.userProfile(scope),
      this.keys.userIdentities(scope),
      this.keys.tokenIndex(scope),
      this.keys.userHistory(scope),
      this.keys.userLinkCodes(scope),
    ];
    if ((await this.redis.exists(...userKeys)) === 0) return false;

    const erased: string[] = [];
    const linksKey = this.keys.userIdentities(scope);
    const entries = await this.redis.hgetall(linksKey);
    for (const [hash, sealed] of Object.entries(entries)) {
      const link = await this.open<IdentityLink>(
        { key: linksKey, field: hash },
        sealed,
        places.identityLink(scope),
      );
      if (!link) continue;
      const current = await this.readBinding(scope.workspace, link.identity);
      if (!current || !sameScope(current.binding, scope)) continue;
      const h = this.keys.identityHash(scope.workspace, link.identity);
      await scripts.eraseIf.run(
        this.redis,
        this.keys.identityRecord(h),
        this.keys.identityHistory(h),
        this.keys.lockout(h),
        this.keys.linkCodeFailures(h),
        current.sealed,
      );
      erased.push(link.identity);
    }
    for (const code of await this.redis.smembers(this.keys.userLinkCodes(scope))) {
      // Only our own link-code key names are ever added to this set.
      if (code.startsWith(`${this.keys.prefix}:lc:`)) await this.redis.del(code);
    }
    await this.options.tokens.revokeAll(scope);
    await this.redis.del(...userKeys);
    await this.options.onErase?.({ workspace: scope.workspace, scope, identities: erased });
    return true;
  }
}
