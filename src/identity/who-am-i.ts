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
export function whoAmIText(
  user: Pick<ResolvedUser, 'tier' | 'userId' | 'name' | 'email'>,
  say: WhoAmISay = english,
): string {
  const label = user.name ?? user.email;
  if (user.tier === 'verified') {
    return label !== undefined
      ? say('whoAmIVerified', { name: label })
      : say('whoAmIVerifiedId', { id: user.userId });
  }
  if (user.tier === 'unverified' && label !== undefined) return say('whoAmIUnverified', { name: label });
  return say('whoAmIUnknown', {});
}

/** The bot's texts of these names, rendered (see src/core/dialog/texts/). */
export type WhoAmISay = (
  text: 'whoAmIVerified' | 'whoAmIVerifiedId' | 'whoAmIUnverified' | 'whoAmIUnknown',
  params: { name?: string; id?: string },
) => string;

const english: WhoAmISay = (text, { name, id }) => {
  switch (text) {
    case 'whoAmIVerified':
      return `You are ${name} (verified).`;
    case 'whoAmIVerifiedId':
      return `You are verified as ${id}.`;
    case 'whoAmIUnverified':
      return `You are ${name} (unverified).`;
    case 'whoAmIUnknown':
      return "I don't know you yet.";
  }
};
