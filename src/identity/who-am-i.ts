// The built-in answer to "who am I": how the bot knows the user, in one sentence.
import type { ResolvedUser } from './types.js';

/** Messages that ask the question (whole message, any case, trailing "?" or "." ignored). */
const QUESTIONS = new Set(['who am i', 'whoami']);

export function isWhoAmI(text: string): boolean {
  return QUESTIONS.has(
    text
      .trim()
      .toLowerCase()
      .replace(/[?.!\s]+$/, '')
      .replace(/\s+/g, ' '),
  );
}

/**
 * "You are Zhang San (verified)." / "You are Zhang San (unverified)." / "I don't know you yet.".
 * A verified user without a name is named by their user id, which the operator chose and the user
 * can recognise (their member or account number); an unverified user with only an e-mail by that.
 */
export function whoAmIText(user: Pick<ResolvedUser, 'tier' | 'userId' | 'name' | 'email'>): string {
  const label = user.name ?? user.email;
  if (user.tier === 'verified') {
    return label !== undefined ? `You are ${label} (verified).` : `You are verified as ${user.userId}.`;
  }
  if (user.tier === 'unverified' && label !== undefined) return `You are ${label} (unverified).`;
  return "I don't know you yet.";
}
