// Texts the engine says on its own: the bot's, resolved at load from its locale and `texts:` (texts/).
import { Templates } from '../templates.js';
import type { DialogBot } from './bot.js';
import { en } from './texts/en.js';
import { resolveTexts, type BotTexts, type TextName } from './texts/index.js';
import type { Turn } from './turn.js';

export type { TextName } from './texts/index.js';

/** Whole minutes until a paused link-code redemption works again (the default pause when unknown). */
export function minutesOf(seconds: number | undefined): number {
  return seconds === undefined ? 15 : Math.max(1, Math.ceil(seconds / 60));
}

const unresolved = new WeakMap<DialogBot, BotTexts>();

/** The bot's resolved texts; for a bot built without the configuration schema, English with its `help`. */
export function botTexts(bot: DialogBot): BotTexts {
  if (bot.texts) return bot.texts;
  let texts = unresolved.get(bot);
  if (!texts) unresolved.set(bot, (texts = resolveTexts('en', { help: bot.help })));
  return texts;
}

/** A text of the bot, in its voice wording on a call, rendered with its parameters and the turn's variables. */
export function text(turn: Turn, name: TextName, params: Record<string, unknown> = {}): Promise<string> {
  const texts = botTexts(turn.ctx.bot);
  const source = turn.ctx.event.channel === 'voice' ? texts.voice[name] : texts.text[name];
  return turn.render(source, params);
}

const quoting = new Templates({ cacheSize: 16 });
const english = (name: TextName, params: Record<string, unknown>) => quoting.text(en[name], params);

/**
 * The English defaults as a bot without `texts:` says them in a message (the ones with parameters as
 * functions): for tests and tools that quote the engine. The engine itself uses `text()`.
 */
export const TEXT = {
  ...en,
  /** The old name of `wrongPassword`. */
  wrongCredentials: en.wrongPassword,
  attemptsLeft: (left: number) => english('attemptsLeft', { left }),
  locked: (minutes: number) => english('locked', { minutes }),
  linked: (who: string) => english('linked', { who }),
  linkLimited: (minutes: number) => english('linkLimited', { minutes }),
  signInWaiting: (minutes: number) => english('signInWaiting', { minutes }),
  signInWrongCode: (left: number) => english('signInWrongCode', { left }),
  signInLink: (link: string) => english('signInLink', { link }),
  whoAmIVerified: (name: string) => english('whoAmIVerified', { name }),
  whoAmIVerifiedId: (id: string) => english('whoAmIVerifiedId', { id }),
  whoAmIUnverified: (name: string) => english('whoAmIUnverified', { name }),
};
