// One-time link codes: random, single-use, expiring, never in clear in Redis, wrong tries limited per identity and per workspace.
import { randomInt } from 'node:crypto';
import type { IdentityStore } from '../store/identity-store.js';
import type { UserScope } from '../store/identity-keys.js';
import type { LinkCodeStore } from '../store/link-code-store.js';
import type { TryPolicy } from '../store/try-counter.js';
import type { CustomData, ResolvedUser } from './types.js';

export interface LinkCodeData {
  workspace: string;
  userId: string;
  externalId?: string;
  name?: string;
  customData?: CustomData;
}

export type RedeemResult =
  | { ok: true; user: ResolvedUser }
  | {
      ok: false;
      reason: 'invalid' | 'expired' | 'rate_limited';
      /** rate_limited: when the identity (or the workspace) may try again (ms). */ until?: number;
      /** rate_limited by the workspace's limit; `tripped` when this try started the pause (report it once). */
      workspace?: { tripped: boolean };
    };

/** Wrong codes a whole workspace may receive (the workspace's `linkCodes`). */
export interface WorkspaceLinkLimit {
  maxFailures: number;
  window: number;
  lockout: number;
}

/**
 * Typed codes: 10 characters of Crockford's base32 (no I, L, O or U: nothing to misread), 50 bits.
 * Keyed codes: 10 digits, 33 bits. Codes issued before either existed were 6 digits; they stay
 * redeemable until they expire (at most a day).
 */
const TEXT_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TEXT_LENGTH = 10;
const LEGACY_DIGITS = 6;

/** What the user sent, as the code was issued: spacing, dashes, dots and case ignored, look-alikes read as meant. */
export function normalizeLinkCode(typed: string): string {
  return typed
    .normalize('NFKC')
    .replace(/[\s.\-_]/g, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
}

export interface LinkCodesOptions {
  /** Where codes and tries are kept. */
  codes: LinkCodeStore;
  identity: IdentityStore;
  now?: () => number;
  /** Seconds a code is valid when the operator does not say (10 minutes). */
  defaultTtlSeconds?: number;
  /** Digits of a keypad code (one keyed on a call). */
  digits?: number;
  /** Wrong codes an identity may send per window. */
  maxFailures?: number;
  failureWindowSeconds?: number;
}

interface StoredCode extends LinkCodeData {
  expiresAt: number;
}

/** How long an expired code is kept, so that it is refused as "expired" rather than "invalid". */
const EXPIRED_GRACE_MS = 3_600_000;

export class LinkCodeCollisionError extends Error {
  override readonly name = 'LinkCodeCollisionError';
}

export class LinkCodes {
  private readonly codes: LinkCodeStore;
  private readonly now: () => number;
  private readonly digits: number;
  private readonly shape: RegExp;

  constructor(private readonly options: LinkCodesOptions) {
    this.codes = options.codes;
    this.now = options.now ?? Date.now;
    this.digits = options.digits ?? 10;
    this.shape = new RegExp(
      `^(?:[${TEXT_ALPHABET}]{${TEXT_LENGTH}}|\\d{${this.digits}}|\\d{${LEGACY_DIGITS}})$`,
    );
  }

  private newCode(keypad: boolean): string {
    if (keypad) return Array.from({ length: this.digits }, () => String(randomInt(0, 10))).join('');
    // At least one digit (2% of draws have none and are drawn again): a code typed in groups
    // ("LINK K7M2Q X9PAB") is then told apart from words, at a cost of 0.04 bits.
    for (;;) {
      const code = Array.from({ length: TEXT_LENGTH }, () =>
        TEXT_ALPHABET.charAt(randomInt(0, TEXT_ALPHABET.length)),
      ).join('');
      if (/\d/.test(code)) return code;
    }
  }

  /**
   * Issues a code bound to the user's data; the code is returned once and only its hash names the key.
   * `keypad`: digits only, for a caller to key; otherwise letters and digits, for a message.
   */
  async create(
    data: LinkCodeData & { ttlSeconds?: number; keypad?: boolean },
  ): Promise<{ code: string; expiresAt: number }> {
    const { ttlSeconds, keypad, ...bound } = data;
    const ttlMs = Math.ceil((ttlSeconds ?? this.options.defaultTtlSeconds ?? 600) * 1000);
    const expiresAt = this.now() + ttlMs;
    const stored: StoredCode = { ...bound, expiresAt };
    const scope: UserScope = {
      workspace: data.workspace,
      userId: data.userId,
      ...(data.externalId !== undefined ? { externalId: data.externalId } : {}),
    };
    for (let tries = 0; tries < 8; tries++) {
      const code = this.newCode(keypad ?? false);
      // A live code is never overwritten by a new one that happens to be equal.
      if (await this.codes.put(scope, code, JSON.stringify(stored), ttlMs + EXPIRED_GRACE_MS))
        return { code, expiresAt };
    }
    throw new LinkCodeCollisionError('could not find a free link code; use more digits');
  }

  /** `LINK <code>`: binds the identity to the code's user, verified, with the code's data. */
  async redeem(input: {
    workspace: string;
    identity: string;
    code: string;
    /** Voice: the call in which the code was keyed (caller ID is not proof). */
    callId?: string;
    /** The workspace's limit on wrong codes from all its identities together. */
    limit?: WorkspaceLinkLimit;
  }): Promise<RedeemResult> {
    const maxFailures = this.options.maxFailures ?? 5;
    const { count, ttlMs } = await this.codes.reserveTry(input, this.options.failureWindowSeconds ?? 900);
    if (count > maxFailures)
      return { ok: false, reason: 'rate_limited', until: this.now() + Math.max(0, ttlMs) };

    const code = normalizeLinkCode(input.code);
    if (!this.shape.test(code)) return { ok: false, reason: 'invalid' };
    // Checked before the code is looked up, so a paused workspace says the same to a right and a wrong
    // code, and a right one stays usable once the pause is over.
    const policy: TryPolicy | undefined = input.limit && {
      maxAttempts: input.limit.maxFailures,
      windowSeconds: input.limit.window,
      lockoutSeconds: input.limit.lockout,
    };
    if (policy) {
      const paused = await this.codes.workspaceTry(input.workspace, policy);
      if (paused.locked) {
        await this.codes.releaseTry(input);
        return {
          ok: false,
          reason: 'rate_limited',
          ...(paused.until !== undefined ? { until: paused.until } : {}),
          workspace: { tripped: paused.newly ?? false },
        };
      }
    }
    const wrong = async (reason: 'invalid' | 'expired'): Promise<RedeemResult> => {
      const paused = policy ? await this.codes.workspaceFailed(input.workspace, policy) : undefined;
      return { ok: false, reason, ...(paused?.newly ? { workspace: { tripped: true } } : {}) };
    };
    // Taken, not read: of two identities racing with the same code, exactly one gets it.
    const plain = await this.codes.take(input.workspace, code);
    let stored: StoredCode | undefined;
    try {
      stored = plain === undefined ? undefined : (JSON.parse(plain) as StoredCode);
    } catch {
      stored = undefined;
    }
    if (!stored || stored.workspace !== input.workspace) return wrong('invalid');
    if (stored.expiresAt <= this.now()) return wrong('expired');

    await this.codes.releaseTry(input);
    if (policy) await this.codes.workspaceRelease(input.workspace, policy);
    const scope: UserScope = {
      workspace: stored.workspace,
      userId: stored.userId,
      ...(stored.externalId !== undefined ? { externalId: stored.externalId } : {}),
    };
    await this.codes.forget(scope, code);
    const user = await this.options.identity.markVerified({
      workspace: input.workspace,
      identity: input.identity,
      userId: stored.userId,
      ...(stored.externalId !== undefined ? { externalId: stored.externalId } : {}),
      via: 'link',
      ...(input.callId !== undefined ? { callId: input.callId } : {}),
      profile: {
        ...(stored.name !== undefined ? { name: stored.name } : {}),
        ...(stored.customData !== undefined ? { customData: stored.customData } : {}),
      },
    });
    return { ok: true, user };
  }
}
