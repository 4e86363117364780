// Sign-in link sessions: the one-time link code, the provider round trip's secrets, the tokens until the
// conversation takes them. Every secret is sealed or kept only as a keyed hash.
import { randomBytes } from 'node:crypto';
import type { IssuedTokens, SignInSecrets } from '../auth/method.js';
import type { DataCipher } from './cipher.js';
import type { Connection } from './connections.js';
import type { Keys } from './keys.js';
import { places } from './places.js';
import { Script } from './scripts.js';
import { DEADLINE_GRACE_MS } from './try-counter.js';

/** Where a sign-in was started: enough to resume that conversation and nothing the user typed. */
export interface SignInOrigin {
  workspace: string;
  botId: string;
  /** The auth component's name in the bot. */
  component: string;
  /** The conversation that waits. */
  cid: string;
  channel: string;
  identity: string;
  /** The conversation's addresses, for the `signin` event that resumes it (as an inbound event's). */
  from: string;
  to: string;
  provider?: Record<string, string>;
  /** The user must type the code the success page shows into this conversation. */
  binding: boolean;
}

export type SessionStatus = 'pending' | 'started' | 'completed' | 'failed' | 'taken';

export type PeekResult =
  { status: 'live'; origin: SignInOrigin } | { status: 'used' | 'expired' | 'unknown' };
export type SpendResult =
  { ok: true; session: string; origin: SignInOrigin } | { ok: false; reason: 'used' | 'expired' | 'unknown' };
export type TakeResult =
  | { ok: true; session: string; origin: SignInOrigin; secrets: SignInSecrets }
  | { ok: false; reason: 'unknown' | 'used' | 'other_browser' };
export type ClaimResult =
  | { ok: true; userId: string; tokens: IssuedTokens; origin: SignInOrigin }
  | { ok: false; reason: 'wrong_code'; attemptsLeft: number }
  | { ok: false; reason: 'not_completed' | 'expired' | 'too_many' };

/**
 * The sign-in sessions. Implemented by `RedisSignInStore`.
 *
 * A session is made with its link code (`create`); the link's page spends the code once (`spend`) and
 * keeps the secrets of the provider round trip under the state; the callback takes them once by state
 * (`takeByState`); the exchange's tokens are kept sealed (`complete`) until the conversation claims them
 * with the binding code (`claim`). No code, state, verifier, token or binding code is stored in clear.
 */
export interface SignInStore {
  create(
    origin: SignInOrigin,
    linkTtlSeconds: number,
  ): Promise<{ session: string; code: string; expiresAt: number }>;
  /** What the link's GET shows: never spends the code (link previews and scanners fetch it). */
  peek(code: string): Promise<PeekResult>;
  /**
   * The Continue button's POST: spends the code (once, whoever races), keeps `secrets` sealed under the
   * state's hash, and ties them to the browser by `browserKey` (a random cookie value, kept hashed).
   */
  spend(code: string, secrets: SignInSecrets, browserKey: string): Promise<SpendResult>;
  /** The callback: takes the secrets by state, once; `other_browser` when the cookie is not the one that started it. */
  takeByState(state: string, browserKey: string | undefined): Promise<TakeResult>;
  /** The exchange succeeded: keeps the tokens sealed and the binding code hashed until claimed. */
  complete(
    session: string,
    result: { userId: string; tokens: IssuedTokens; bindingCode?: string },
  ): Promise<void>;
  fail(session: string, reason: 'denied' | 'error'): Promise<void>;
  status(session: string): Promise<{ status: SessionStatus; reason?: 'denied' | 'error' } | undefined>;
  /**
   * Takes the tokens once, checking the binding code when the origin asked for one; a wrong code counts,
   * and the third spends the session.
   */
  claim(session: string, bindingCode: string | undefined): Promise<ClaimResult>;
}

/**
 * Seconds a session outlives its link: time for the provider's sign-in (a password reset, a second
 * factor) and for typing the binding code into the conversation. Past it nothing of the session works.
 */
export const SIGN_IN_FINISH_SECONDS = 900;
/** Wrong binding codes that spend a session. */
export const BINDING_TRIES = 3;
/** Random bytes of a link code: 128 bits, 22 base64url characters. */
const CODE_BYTES = 16;
/** What a link code looks like (anything else is not looked up). */
export const LINK_CODE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/*
 * One hash per session, `si:{<session>}`, the session being the keyed hash of the link code; its fields:
 * status, binding ('1'/'0'), linkEnd and end (ms, decided by the caller's clock; the TTL only collects),
 * origin (sealed); after the spend: state and browser (keyed hashes), secrets (sealed, until the callback
 * takes them); after the exchange: tokens (sealed, until claimed), bind (keyed hash of the binding code),
 * tries; reason when failed. Every script touches this one key, so each is atomic on Redis Cluster too.
 */

/** Spends the link code. ARGV: now, state hash, browser hash, sealed secrets. Returns {1, origin} or {0, why}. */
const SPEND = `
local v = redis.call('HMGET', KEYS[1], 'status', 'linkEnd', 'origin')
if not v[1] then return {0, 'unknown'} end
if v[1] ~= 'pending' then return {0, 'used'} end
if tonumber(v[2]) <= tonumber(ARGV[1]) then return {0, 'expired'} end
redis.call('HSET', KEYS[1], 'status', 'started', 'state', ARGV[2], 'browser', ARGV[3], 'secrets', ARGV[4])
return {1, v[3]}`;

/**
 * Takes the secrets by state, once, and only for the browser that spent the code (another browser takes
 * nothing). ARGV: state hash, browser hash ('' without a cookie), now. Returns {1, secrets, origin} or {0, why}.
 */
const TAKE = `
local v = redis.call('HMGET', KEYS[1], 'status', 'state', 'browser', 'secrets', 'origin', 'end')
if not v[1] or v[2] ~= ARGV[1] then return {0, 'unknown'} end
if v[1] ~= 'started' or not v[4] or tonumber(v[6]) <= tonumber(ARGV[3]) then return {0, 'used'} end
if v[3] ~= ARGV[2] then return {0, 'other_browser'} end
redis.call('HDEL', KEYS[1], 'secrets')
return {1, v[4], v[5]}`;

/** The exchange's result, for a session whose secrets were taken. ARGV: sealed tokens, binding hash or ''. */
const COMPLETE = `
if redis.call('HGET', KEYS[1], 'status') ~= 'started' or redis.call('HEXISTS', KEYS[1], 'secrets') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'completed', 'tokens', ARGV[1], 'tries', 0)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'bind', ARGV[2]) end
return 1`;

/** A session that has not completed ends. ARGV: reason. */
const FAIL = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'started' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'reason', ARGV[1])
redis.call('HDEL', KEYS[1], 'secrets', 'tokens', 'bind')
return 1`;

/**
 * Takes the tokens once, checking the binding code. ARGV: the typed code's hash ('' for none), now, tries.
 * Returns {1, tokens, origin}, {0, 'wrong_code', left} or {0, why}.
 */
const CLAIM = `
local v = redis.call('HMGET', KEYS[1], 'status', 'binding', 'bind', 'tries', 'tokens', 'origin', 'end')
if not v[1] or tonumber(v[7]) <= tonumber(ARGV[2]) then return {0, 'expired'} end
local tries = tonumber(v[4] or '0') or 0
local most = tonumber(ARGV[3])
if v[1] == 'failed' and tries >= most then return {0, 'too_many'} end
if v[1] == 'failed' or v[1] == 'taken' then return {0, 'expired'} end
if v[1] ~= 'completed' then return {0, 'not_completed'} end
if v[2] == '1' and (ARGV[1] == '' or ARGV[1] ~= v[3]) then
  tries = tries + 1
  redis.call('HSET', KEYS[1], 'tries', tries)
  if tries >= most then
    redis.call('HSET', KEYS[1], 'status', 'failed', 'reason', 'error')
    redis.call('HDEL', KEYS[1], 'tokens', 'bind')
    return {0, 'too_many'}
  end
  return {0, 'wrong_code', most - tries}
end
redis.call('HSET', KEYS[1], 'status', 'taken')
redis.call('HDEL', KEYS[1], 'tokens', 'bind')
return {1, v[5], v[6]}`;

type Answer = [number, string | null, (string | number | null)?];

const scripts = {
  spend: new Script<[session: string, now: number, state: string, browser: string, secrets: string], Answer>(
    1,
    SPEND,
  ),
  take: new Script<[session: string, state: string, browser: string, now: number], Answer>(1, TAKE),
  complete: new Script<[session: string, tokens: string, binding: string], number>(1, COMPLETE),
  fail: new Script<[session: string, reason: string], number>(1, FAIL),
  claim: new Script<[session: string, binding: string, now: number, tries: number], Answer>(1, CLAIM),
};

/** `complete` found no session waiting for its exchange (it is over, failed, or was never started). */
export class SignInSessionGoneError extends Error {
  override readonly name = 'SignInSessionGoneError';
}

export class RedisSignInStore implements SignInStore {
  private readonly now: () => number;

  constructor(
    private readonly redis: Connection,
    private readonly keys: Keys,
    private readonly cipher: DataCipher,
    options: { now: () => number },
  ) {
    this.now = options.now;
  }

  async create(
    origin: SignInOrigin,
    linkTtlSeconds: number,
  ): Promise<{ session: string; code: string; expiresAt: number }> {
    const now = this.now();
    const code = randomBytes(CODE_BYTES).toString('base64url');
    const session = this.keys.signInSessionId(code);
    const key = this.keys.signInSession(session);
    const expiresAt = now + linkTtlSeconds * 1000;
    const end = expiresAt + SIGN_IN_FINISH_SECONDS * 1000;
    const sealed = this.cipher.seal(JSON.stringify(origin), places.signIn(session, 'origin'));
    await this.redis
      .multi()
      .hset(key, {
        status: 'pending',
        binding: origin.binding ? '1' : '0',
        linkEnd: expiresAt,
        end,
        origin: sealed,
      })
      .pexpire(key, end - now + DEADLINE_GRACE_MS)
      .exec();
    return { session, code, expiresAt };
  }

  async peek(code: string): Promise<PeekResult> {
    const session = this.keys.signInSessionId(code);
    const [status = null, linkEnd, sealed = null] = await this.redis.hmget(
      this.keys.signInSession(session),
      'status',
      'linkEnd',
      'origin',
    );
    const origin = sealed === null ? undefined : this.origin(session, sealed);
    if (status === null || !origin) return { status: 'unknown' };
    if (status !== 'pending') return { status: 'used' };
    if (Number(linkEnd) <= this.now()) return { status: 'expired' };
    return { status: 'live', origin };
  }

  async spend(code: string, secrets: SignInSecrets, browserKey: string): Promise<SpendResult> {
    const session = this.keys.signInSessionId(code);
    const key = this.keys.signInSession(session);
    const stateHash = this.keys.signInHash('state', secrets.state);
    const [ok, value] = await scripts.spend.run(
      this.redis,
      key,
      this.now(),
      stateHash,
      this.keys.signInHash('browser', session, browserKey),
      this.cipher.seal(JSON.stringify(secrets), places.signIn(session, 'secrets')),
    );
    if (ok !== 1) return { ok: false, reason: value as 'used' | 'expired' | 'unknown' };
    const origin = value === null ? undefined : this.origin(session, value);
    if (!origin) return { ok: false, reason: 'unknown' };
    // The pointer lives as long as the session: a callback replayed later finds it and is told "used".
    const left = await this.redis.pttl(key);
    await this.redis.set(this.keys.signInState(stateHash), session, 'PX', Math.max(left, 1));
    return { ok: true, session, origin };
  }

  async takeByState(state: string, browserKey: string | undefined): Promise<TakeResult> {
    const stateHash = this.keys.signInHash('state', state);
    const session = await this.redis.get(this.keys.signInState(stateHash));
    if (session === null) return { ok: false, reason: 'unknown' };
    const browser = browserKey === undefined ? '' : this.keys.signInHash('browser', session, browserKey);
    const [ok, sealedSecrets, sealedOrigin] = await scripts.take.run(
      this.redis,
      this.keys.signInSession(session),
      stateHash,
      browser,
      this.now(),
    );
    if (ok !== 1) return { ok: false, reason: sealedSecrets as 'unknown' | 'used' | 'other_browser' };
    const origin = this.origin(session, String(sealedOrigin));
    const opened = this.cipher.open(String(sealedSecrets), places.signIn(session, 'secrets'));
    if (!origin || opened === undefined) return { ok: false, reason: 'unknown' };
    return { ok: true, session, origin, secrets: JSON.parse(opened) as SignInSecrets };
  }

  async complete(
    session: string,
    result: { userId: string; tokens: IssuedTokens; bindingCode?: string },
  ): Promise<void> {
    const sealed = this.cipher.seal(
      JSON.stringify({ userId: result.userId, tokens: result.tokens }),
      places.signIn(session, 'tokens'),
    );
    const binding =
      result.bindingCode === undefined ? '' : this.keys.signInHash('binding', session, result.bindingCode);
    const done = await scripts.complete.run(this.redis, this.keys.signInSession(session), sealed, binding);
    if (done !== 1) throw new SignInSessionGoneError('the sign-in session is not waiting for its exchange');
  }

  async fail(session: string, reason: 'denied' | 'error'): Promise<void> {
    await scripts.fail.run(this.redis, this.keys.signInSession(session), reason);
  }

  async status(session: string): Promise<{ status: SessionStatus; reason?: 'denied' | 'error' } | undefined> {
    const [status, linkEnd, end, reason] = await this.redis.hmget(
      this.keys.signInSession(session),
      'status',
      'linkEnd',
      'end',
      'reason',
    );
    const now = this.now();
    if (status === null || Number(end) <= now) return undefined;
    // A link nobody followed in time is over, though its record waits for the TTL.
    if (status === 'pending' && Number(linkEnd) <= now) return undefined;
    if (status === 'failed') return { status, reason: reason === 'denied' ? 'denied' : 'error' };
    return { status: status as SessionStatus };
  }

  async claim(session: string, bindingCode: string | undefined): Promise<ClaimResult> {
    const typed = bindingCode === undefined ? '' : this.keys.signInHash('binding', session, bindingCode);
    const [ok, first, second] = await scripts.claim.run(
      this.redis,
      this.keys.signInSession(session),
      typed,
      this.now(),
      BINDING_TRIES,
    );
    if (ok !== 1) {
      if (first === 'wrong_code') return { ok: false, reason: 'wrong_code', attemptsLeft: Number(second) };
      return { ok: false, reason: first as 'not_completed' | 'expired' | 'too_many' };
    }
    const opened = this.cipher.open(String(first), places.signIn(session, 'tokens'));
    const origin = this.origin(session, String(second));
    if (opened === undefined || !origin) return { ok: false, reason: 'expired' };
    const { userId, tokens } = JSON.parse(opened) as { userId: string; tokens: IssuedTokens };
    return { ok: true, userId, tokens, origin };
  }

  private origin(session: string, sealed: string): SignInOrigin | undefined {
    const plain = this.cipher.open(sealed, places.signIn(session, 'origin'));
    return plain === undefined ? undefined : (JSON.parse(plain) as SignInOrigin);
  }
}
