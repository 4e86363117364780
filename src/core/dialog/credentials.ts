// The credential dialog: asks for an auth component's fields, calls it, keeps the token it gives.
import { DialogError } from '../errors.js';
import type { AuthComponentConfig, CredentialFieldShape } from '../ports/auth-component.js';
import type { AuthOutcome } from '../ports/authentication.js';
import type { CachedToken } from '../ports/tokens.js';
import { validAnswer } from './answers.js';
import type { DialogBot } from './bot.js';
import type { AnswerOutcome } from './step.js';
import type { Flow, Pending } from './state.js';
import { startSignIn } from './sign-in.js';
import { text } from './text.js';
import type { Turn } from './turn.js';

/** Answers so far and failed tries; the engine's own pending kind, shared by the auth and request steps. */
export interface CredentialPending extends Pending {
  kind: 'credential';
  component: string;
  field: number;
  values: Record<string, string>;
  misses: number;
}

export const CREDENTIAL = 'credential';

/** A token closer than this to its expiry is refreshed before a request uses it (the request takes time). */
export const TOKEN_REFRESH_MARGIN_MS = 30_000;

/**
 * Makes sure the user has a live token for the component: the cached one while it is live and not about
 * to expire; else a refreshed one when the record holds a refresh token; else the credential dialog (or a
 * sign-in link) starts.
 */
export async function ensureToken(turn: Turn, name: string): Promise<'ready' | Flow | 'jumped'> {
  const cached = turn.tokens.get(name) ?? (await turn.services.token(name));
  const now = turn.tools.clock.now();
  const ready = (token: CachedToken): 'ready' => {
    turn.tokens.set(name, token);
    turn.authtoken = token.token;
    return 'ready';
  };
  if (cached && cached.expiresAt - now > TOKEN_REFRESH_MARGIN_MS) return ready(cached);
  // Expired, about to expire, or not cached as live: the record may still hold a refresh token.
  const refreshed = await turn.services.refreshToken(name);
  const live = cached && cached.expiresAt > now ? cached : undefined;
  switch (refreshed.result) {
    case 'refreshed':
      return ready(refreshed.token);
    case 'unavailable':
      // The provider is away: a token still live is used; without one the user tries again later.
      if (live) return ready(live);
      turn.emit('auth.failed', { component: name, reason: 'unavailable' });
      turn.say(await text(turn, 'authUnavailable'));
      turn.state.pending = { kind: RESUME };
      return 'waiting';
    case 'none':
      if (live) return ready(live);
      turn.tokens.delete(name);
      return startCredentials(turn, name);
    case 'refused':
      turn.tokens.delete(name);
      return startCredentials(turn, name);
  }
}

export async function startCredentials(turn: Turn, name: string): Promise<Flow | 'jumped'> {
  // A component that signs in by link sends the link instead of asking for fields (see sign-in.ts).
  if (turn.services.signsInByLink(name)) return startSignIn(turn, name);
  const component = componentOf(turn, name);
  const locked = await turn.services.lockedFor(name);
  if (locked > 0) {
    turn.say(await text(turn, 'locked', { minutes: Math.ceil(locked / 60) }));
    return 'ended';
  }
  turn.state.pending = { kind: CREDENTIAL, component: name, field: 0, values: {}, misses: 0 };
  await fieldPrompt(turn, component.fields[0]!);
  return 'waiting';
}

export function credentialSecret(bot: DialogBot, pending: CredentialPending): boolean {
  const { auth } = bot;
  const component = Object.hasOwn(auth, pending.component) ? auth[pending.component] : undefined;
  return component?.fields[pending.field]?.secret === true;
}

export async function credentialReprompt(turn: Turn, pending: CredentialPending): Promise<void> {
  const field = componentOf(turn, pending.component).fields[pending.field];
  if (field) await fieldPrompt(turn, field);
}

export async function credentialAnswer(
  turn: Turn,
  pending: CredentialPending,
  input: string | undefined,
): Promise<AnswerOutcome> {
  const component = componentOf(turn, pending.component);
  const field = component.fields[pending.field]!;
  if (field.secret) turn.carriedSecret = true;
  if (input === undefined || !validAnswer(field, input)) {
    const misses = pending.misses + 1;
    if (misses > 2) {
      turn.say(await text(turn, 'credentialsGaveUp'));
      turn.state.pending = undefined;
      return 'ended';
    }
    turn.state.pending = { ...pending, misses };
    if (input !== undefined) turn.say(await text(turn, 'invalidField'));
    await fieldPrompt(turn, field);
    return 'waiting';
  }
  const values = { ...pending.values, [field.name]: input };
  const nextField = component.fields[pending.field + 1];
  if (nextField) {
    turn.state.pending = { ...pending, field: pending.field + 1, values, misses: 0 };
    await fieldPrompt(turn, nextField);
    return 'waiting';
  }
  // Every field answered: the secret leaves the state now, whatever the outcome.
  turn.state.pending = undefined;
  return authenticate(turn, pending.component, component, values);
}

async function authenticate(
  turn: Turn,
  name: string,
  component: AuthComponentConfig,
  values: Record<string, string>,
): Promise<AnswerOutcome> {
  const { services } = turn;
  const locked = await services.lockedFor(name);
  if (locked > 0) {
    turn.say(await text(turn, 'locked', { minutes: Math.ceil(locked / 60) }));
    return 'ended';
  }
  const outcome = await services.authenticate(component, values, name);
  if (outcome.result === 'locked') {
    // The typed account is locked (whoever tried it): no auth call was made.
    turn.say(await text(turn, 'locked', { minutes: Math.ceil(outcome.seconds / 60) }));
    return 'ended';
  }
  if (outcome.result === 'success') return keepToken(turn, name, outcome);
  if (outcome.result === 'unavailable') {
    turn.emit('auth.failed', { component: name, reason: 'unavailable' });
    turn.say(await text(turn, 'authUnavailable'));
    turn.state.pending = { kind: RESUME };
    return 'waiting';
  }
  return wrongCredentials(turn, name, component, outcome.accountLockedSeconds ?? 0);
}

async function keepToken(
  turn: Turn,
  name: string,
  outcome: Extract<AuthOutcome, { result: 'success' }>,
): Promise<AnswerOutcome> {
  const { services } = turn;
  // Verified first, so that the token is cached under the verified user (and reported as user.verified).
  const verified = await services.markVerified(outcome.userId, name);
  if ('moved' in verified) {
    // The identity is another user's and the workspace forbids moving it: no token is kept.
    await turn.user(); // the event names the user the identity stays with
    turn.emit('auth.failed', { component: name, reason: 'identity_move_forbidden' });
    turn.say(await text(turn, 'identityMoveForbidden'));
    return 'ended';
  }
  turn.userView = verified;
  const extra = outcome.extra ? { extra: outcome.extra } : {};
  await services.storeToken(name, outcome.userId, {
    token: outcome.token,
    ttlSeconds: outcome.ttlSeconds,
    ...extra,
    ...(outcome.refreshToken !== undefined ? { refreshToken: outcome.refreshToken } : {}),
    ...(outcome.refreshTtlSeconds !== undefined ? { refreshTtlSeconds: outcome.refreshTtlSeconds } : {}),
  });
  await services.clearFailures(name);
  turn.tokens.set(name, {
    token: outcome.token,
    expiresAt: turn.tools.clock.now() + outcome.ttlSeconds * 1000,
    ...extra,
  });
  return 'next'; // the step that asked runs again, now with a token
}

async function wrongCredentials(
  turn: Turn,
  name: string,
  component: AuthComponentConfig,
  accountLockedSeconds: number,
): Promise<AnswerOutcome> {
  await turn.user();
  turn.emit('auth.failed', { component: name, reason: 'wrong_credentials' });
  const recorded = await turn.services.recordFailure(component, name);
  const lockedNow = recorded.lockedFor;
  if (lockedNow > 0) turn.emit('user.locked', { component: name, seconds: lockedNow });
  const lockedFor = Math.max(lockedNow, accountLockedSeconds);
  if (lockedFor > 0) {
    turn.say(await text(turn, 'locked', { minutes: Math.ceil(lockedFor / 60) }));
    return 'ended';
  }
  turn.say(await text(turn, 'wrongPassword'));
  // The last try before a lockout is told so.
  if (recorded.attemptsLeft === 1) turn.say(await text(turn, 'attemptsLeft', { left: 1 }));
  turn.state.pending = { kind: CREDENTIAL, component: name, field: 0, values: {}, misses: 0 };
  await fieldPrompt(turn, component.fields[0]!);
  return 'waiting';
}

/** The engine's pending kind after the auth service was unavailable: the next message tries again. */
export const RESUME = 'resume';

async function fieldPrompt(turn: Turn, field: CredentialFieldShape): Promise<void> {
  turn.ask(await turn.render(field.prompt), {
    keypad: field.keypad || field.secret,
    secret: field.secret,
    ...(field.digits !== undefined ? { digits: field.digits } : {}),
  });
}

function componentOf(turn: Turn, name: string): AuthComponentConfig {
  const { auth } = turn.ctx.bot;
  const component = Object.hasOwn(auth, name) ? auth[name] : undefined;
  if (!component) throw new DialogError(`auth component ${name} does not exist`);
  return component;
}
