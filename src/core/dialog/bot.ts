// What the engine reads of a bot's configuration; config's inferred `BotConfig` satisfies it as it is.
import type { BotKeywords } from '../keywords.js';
import type { AuthComponentConfig } from '../ports/auth-component.js';
import type { BotTexts } from './texts/index.js';

/** A step as written: a mapping with one key, its kind (see `steps/index.ts`). */
export type StepConfig = object;

export interface DialogBot {
  flows: Record<string, readonly StepConfig[]>;
  auth: Record<string, AuthComponentConfig>;
  /** Seconds a conversation waits for its next message before it starts over. */
  sessionTimeout: number;
  help: string;
  voice: { restartKey: string };
  /** Per channel, the opt-out, opt-in, help and cancel words (the defaults when absent). */
  keywords?: BotKeywords;
  /** Every engine text, resolved from the bot's locale and `texts:` (absent: the English defaults). */
  texts?: BotTexts;
}
