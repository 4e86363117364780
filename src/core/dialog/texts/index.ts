// The locales of the engine's texts (one file each, one line here) and a bot's texts resolved from them.
import { Text, withHint } from '../../schema-parts.js';
import { z } from '../../zod.js';
import { en, enVoice, type TextName } from './en.js';
import { es, esVoice } from './es.js';

export type { TextName } from './en.js';

export interface Locale {
  text: Record<TextName, string>;
  /** Spoken wording where it differs from the written one. */
  voice: Partial<Record<TextName, string>>;
  /** The `voice.language` and `voice.voice` of a bot in this locale that sets neither. */
  language: string;
  speaker: string;
}

export const LOCALES = {
  en: { text: en, voice: enVoice, language: 'en-US', speaker: 'Polly.Joanna' },
  es: { text: es, voice: esVoice, language: 'es-ES', speaker: 'Polly.Lucia' },
} as const satisfies Record<string, Locale>;

export type LocaleName = keyof typeof LOCALES;
export const LOCALE_NAMES = Object.keys(LOCALES) as LocaleName[];
export const TEXT_NAMES = Object.keys(en) as TextName[];

/** The locale a language tag uses: itself when there is such a file, else its language ("es-ES" → es). */
export function resolveLocale(tag: string): LocaleName | undefined {
  const lower = tag.trim().toLowerCase().replace(/_/g, '-');
  if (Object.hasOwn(LOCALES, lower)) return lower as LocaleName;
  const language = lower.split('-')[0]!;
  return Object.hasOwn(LOCALES, language) ? (language as LocaleName) : undefined;
}

/** What a bot writes under `texts:`: any text by name, and spoken variants under `voice:`. */
export type TextOverrides = Partial<Record<TextName, string>> & { voice?: Partial<Record<TextName, string>> };

/** A bot's texts, every one resolved: as written (messaging) and as said (voice). */
export interface BotTexts {
  text: Readonly<Record<TextName, string>>;
  voice: Readonly<Record<TextName, string>>;
}

/**
 * Resolves a bot's texts once (at configuration load). The bot's own text wins over the locale's on
 * every channel; on voice its own voice variant wins over both, and the locale's voice variant is used
 * only where the bot did not write the text.
 */
export function resolveTexts(locale: LocaleName, overrides: TextOverrides = {}): BotTexts {
  const base: Locale = LOCALES[locale];
  const text = {} as Record<TextName, string>;
  const voice = {} as Record<TextName, string>;
  for (const name of TEXT_NAMES) {
    const own = overrides[name];
    text[name] = own ?? base.text[name];
    voice[name] = overrides.voice?.[name] ?? own ?? base.voice[name] ?? base.text[name];
  }
  return { text, voice };
}

const TextMap = z.strictObject(
  Object.fromEntries(TEXT_NAMES.map((name) => [name, Text.optional()])) as Record<
    TextName,
    z.ZodOptional<typeof Text>
  >,
);

/** The schema of `texts:`; an unknown name is an unknown key (check-config says which name was meant). */
export const TextsSchema = TextMap.extend({ voice: TextMap.optional() });

/** The schema of `locale:`: a language tag some locale file serves. */
export const LocaleSchema = z.string().superRefine((tag, ctx) => {
  if (resolveLocale(tag) !== undefined) return;
  ctx.addIssue({
    code: 'custom',
    message: withHint(
      `there are no texts for locale "${tag}"`,
      `use one of ${LOCALE_NAMES.join(', ')} (a tag such as "es-ES" uses the texts of its language).`,
    ),
  });
});
