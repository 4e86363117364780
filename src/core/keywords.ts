// Whole-message commands: opt-out, opt-in, HELP and cancel words per channel, MENU, LOGOUT, LINK <code>, "who am I".
import type { DialogBot } from './dialog/bot.js';
import type { InboundEvent } from './events.js';

export type Keyword =
  | { kind: 'stop' }
  | { kind: 'start' }
  | { kind: 'help' }
  | { kind: 'cancel' }
  | { kind: 'restart' }
  | { kind: 'logout' }
  | { kind: 'whoami' }
  | { kind: 'link'; code: string };

/** The commands a channel's word lists name (the rest are the same on every channel). */
export type ChannelKeywordKind = 'stop' | 'start' | 'help' | 'cancel';

/** One channel's keyword settings as the operator writes them (`bots.ID.keywords.CHANNEL`). */
export interface ChannelKeywordSettings {
  optOut?: readonly string[] | undefined;
  optIn?: readonly string[] | undefined;
  help?: readonly string[] | undefined;
  cancel?: readonly string[] | undefined;
  /**
   * The provider's own opt-out handling (Twilio's Advanced Opt-Out) already confirms opt-outs and opt-ins
   * (`confirms`) and answers HELP (`answersHelp`): Switchboard then stays quiet about them.
   */
  advancedOptOut?: { confirms: boolean; answersHelp: boolean } | undefined;
}

/** One channel's keywords, resolved once when the configuration is loaded. */
export interface ChannelKeywords {
  /** A whole message in upper case → its command (a null-prototype record). */
  readonly words: Readonly<Record<string, ChannelKeywordKind>>;
  /** Switchboard says its own opt-out and opt-in confirmations. */
  readonly confirms: boolean;
  /** Switchboard answers HELP with the bot's help text (also to an opted-out identity). */
  readonly answersHelp: boolean;
}

/** A bot's keywords: per channel, and for a channel with no defaults of its own (a plug-in's). */
export interface BotKeywords {
  readonly channels: Readonly<Record<string, ChannelKeywords>>;
  readonly other: ChannelKeywords;
}

interface WordLists {
  optOut: readonly string[];
  optIn: readonly string[];
  help: readonly string[];
  cancel: readonly string[];
}

/**
 * The defaults. SMS follows Twilio's default opt-out keywords (Twilio blocks a number that sends one of
 * them, whatever Switchboard does), so CANCEL opts out there; WhatsApp and voice keep opting out to STOP
 * and UNSUBSCRIBE, and CANCEL cancels the pending question.
 */
export const DEFAULT_KEYWORDS: Readonly<Record<'sms' | 'whatsapp' | 'voice' | 'other', WordLists>> = {
  sms: {
    optOut: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
    optIn: ['START', 'UNSTOP', 'YES'],
    help: ['HELP', 'INFO'],
    cancel: [],
  },
  whatsapp: { optOut: ['STOP', 'UNSUBSCRIBE'], optIn: ['START'], help: ['HELP', 'INFO'], cancel: ['CANCEL'] },
  voice: { optOut: ['STOP'], optIn: ['START'], help: ['HELP', 'INFO'], cancel: ['CANCEL'] },
  other: {
    optOut: ['STOP', 'UNSUBSCRIBE'],
    optIn: ['START', 'UNSTOP'],
    help: ['HELP', 'INFO'],
    cancel: ['CANCEL'],
  },
};

/** The words every channel keeps for itself; a channel's lists cannot take them. */
const FIXED: Record<string, Keyword> = {
  MENU: { kind: 'restart' },
  RESET: { kind: 'restart' },
  LOGOUT: { kind: 'logout' },
};
export const FIXED_KEYWORDS: readonly string[] = Object.keys(FIXED);

const LIST_KIND: Readonly<Record<keyof WordLists, ChannelKeywordKind>> = {
  optOut: 'stop',
  optIn: 'start',
  help: 'help',
  cancel: 'cancel',
};

/** How a word is compared: trimmed, upper case. */
export const keywordText = (word: string): string => word.trim().toUpperCase();

/**
 * One channel's settings over its defaults. A list not written is the default, except that a word the
 * channel's `cancel` list names is taken out of a default opt-out list (writing `cancel: [CANCEL]` on SMS
 * declares that CANCEL is not among the sender's opt-out words at Twilio).
 */
export function resolveChannelKeywords(
  settings: ChannelKeywordSettings | undefined,
  defaults: WordLists,
): ChannelKeywords {
  const cancel = (settings?.cancel ?? defaults.cancel).map(keywordText);
  const lists: WordLists = {
    optOut: settings?.optOut?.map(keywordText) ?? defaults.optOut.filter((w) => !cancel.includes(w)),
    optIn: (settings?.optIn ?? defaults.optIn).map(keywordText),
    help: (settings?.help ?? defaults.help).map(keywordText),
    cancel,
  };
  const words = Object.create(null) as Record<string, ChannelKeywordKind>;
  for (const list of Object.keys(LIST_KIND) as (keyof WordLists)[]) {
    for (const word of lists[list]) words[word] ??= LIST_KIND[list];
  }
  return {
    words: Object.freeze(words),
    confirms: !settings?.advancedOptOut?.confirms,
    answersHelp: !settings?.advancedOptOut?.answersHelp,
  };
}

/** Every channel's keywords from a bot's `keywords` settings: done once, at configuration load. */
export function resolveKeywords(
  settings: Readonly<Record<string, ChannelKeywordSettings | undefined>> = {},
  channels: readonly string[] = [],
): BotKeywords {
  const byChannel: Record<string, ChannelKeywords> = Object.create(null) as Record<string, ChannelKeywords>;
  for (const channel of new Set([...channels, 'sms', 'whatsapp', 'voice'])) {
    const defaults = Object.hasOwn(DEFAULT_KEYWORDS, channel)
      ? DEFAULT_KEYWORDS[channel as keyof typeof DEFAULT_KEYWORDS]
      : DEFAULT_KEYWORDS.other;
    byChannel[channel] = resolveChannelKeywords(settings[channel], defaults);
  }
  return {
    channels: Object.freeze(byChannel),
    other: resolveChannelKeywords(undefined, DEFAULT_KEYWORDS.other),
  };
}

const FALLBACK = resolveKeywords();

/** The keywords of a bot on a channel (a bot built without the configuration gets the defaults). */
export function channelKeywords(bot: DialogBot, channel: string): ChannelKeywords {
  const keywords = bot.keywords ?? FALLBACK;
  return Object.hasOwn(keywords.channels, channel) ? keywords.channels[channel]! : keywords.other;
}

const WHO_AM_I = /^who\s*am\s*i\??$/i;
const LINK = /^LINK\s+([A-Za-z0-9-]{4,32})$/i;
/**
 * A code typed in groups ("LINK 482 910", "LINK K7M X2Q9PAB", "LINK 482-910", "LINK K7M2Q.X9PAB"): the
 * separators a link prompt ignores (see `normalizeLinkCode`), so no code it takes is kept as plain text here.
 */
const GROUPED_LINK = /^LINK\s+([A-Za-z0-9]+(?:[\s.\-_]+[A-Za-z0-9]+)+)$/i;
/** What a grouped code must be once joined: digits, or a typed code's 10 characters with a digit among them, so "link me please" stays a sentence. */
const GROUPED_CODE = /^(?:\d{4,32}|(?=.*\d)[A-Za-z0-9]{10})$/;

/**
 * Speech text without its trailing `.`, `!`, `?` and `,`, in one pass from the end (the regular expression
 * `/[.!?,]+$/` backtracks quadratically over a long run of dots that is not at the end).
 */
export function withoutTrailingPunctuation(text: string): string {
  let end = text.length;
  while (end > 0 && '.!?,'.includes(text[end - 1]!)) end--;
  return text.slice(0, end);
}

/**
 * The command a message is, if any. Twilio's `OptOutType` wins over the words (Twilio has already acted on
 * it); otherwise the channel's word lists, then the words every channel shares.
 */
export function detectKeyword(event: InboundEvent, bot: DialogBot): Keyword | undefined {
  if (event.optOut === 'STOP') return { kind: 'stop' };
  if (event.optOut === 'START') return { kind: 'start' };
  if (event.optOut === 'HELP') return { kind: 'help' };
  let text = event.text.trim();
  if (event.channel === 'voice') {
    if (event.kind !== 'call.input') return undefined;
    if (bot.voice.restartKey !== '' && text === bot.voice.restartKey) return { kind: 'restart' };
    // Speech comes back as a sentence ("Help."): the same words count, without the punctuation.
    text = withoutTrailingPunctuation(text);
  }
  const upper = text.toUpperCase();
  const { words } = channelKeywords(bot, event.channel);
  const kind = words[upper];
  if (kind) return { kind };
  const fixed = Object.hasOwn(FIXED, upper) ? FIXED[upper] : undefined;
  if (fixed) return fixed;
  if (WHO_AM_I.test(text)) return { kind: 'whoami' };
  if (event.channel === 'voice') return undefined; // a link code is keyed where a voice flow asks for it
  const link = LINK.exec(text);
  if (link) return { kind: 'link', code: link[1]! };
  const grouped = GROUPED_LINK.exec(text)?.[1]?.replace(/[\s.\-_]/g, '');
  if (grouped && GROUPED_CODE.test(grouped)) return { kind: 'link', code: grouped };
  return undefined;
}
