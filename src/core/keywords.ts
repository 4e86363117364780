// Whole-message commands: STOP and friends, HELP, MENU, LOGOUT, LINK <code>, "who am I".
import type { DialogBot } from './dialog/bot.js';
import type { InboundEvent } from './events.js';

export type Keyword =
  | { kind: 'stop' }
  | { kind: 'start' }
  | { kind: 'help' }
  | { kind: 'restart' }
  | { kind: 'logout' }
  | { kind: 'whoami' }
  | { kind: 'link'; code: string };

const WORDS: Record<string, Keyword> = {
  STOP: { kind: 'stop' },
  STOPALL: { kind: 'stop' },
  UNSUBSCRIBE: { kind: 'stop' },
  CANCEL: { kind: 'stop' },
  END: { kind: 'stop' },
  QUIT: { kind: 'stop' },
  START: { kind: 'start' },
  UNSTOP: { kind: 'start' },
  HELP: { kind: 'help' },
  INFO: { kind: 'help' },
  MENU: { kind: 'restart' },
  RESET: { kind: 'restart' },
  LOGOUT: { kind: 'logout' },
};

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
  const word = WORDS[text.toUpperCase()];
  if (word) return word;
  if (WHO_AM_I.test(text)) return { kind: 'whoami' };
  if (event.channel === 'voice') return undefined; // a link code is keyed where a voice flow asks for it
  const link = LINK.exec(text);
  if (link) return { kind: 'link', code: link[1]! };
  const grouped = GROUPED_LINK.exec(text)?.[1]?.replace(/[\s.\-_]/g, '');
  if (grouped && GROUPED_CODE.test(grouped)) return { kind: 'link', code: grouped };
  return undefined;
}
