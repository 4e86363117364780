// The `keywords` block of a bot: per channel, the words that opt out, opt in, ask for help and cancel a question.
import { z } from 'zod';
import {
  FIXED_KEYWORDS,
  keywordText,
  resolveKeywords,
  type ChannelKeywordSettings,
} from '../core/keywords.js';
import { withHint } from '../core/schema-parts.js';
import { CHANNEL_NAMES } from '../../channels/index.js';

const Word = z.string().refine((w) => w.trim() !== '', {
  error: withHint('a keyword cannot be empty', 'write a word, e.g. STOP.'),
});

/** true: Twilio confirms opt-outs and opt-ins and answers HELP; or say which of the two it does. */
const AdvancedOptOut = z
  .union([
    z.boolean().transform((on) => ({ confirms: on, answersHelp: on })),
    z.strictObject({ confirms: z.boolean().default(true), answersHelp: z.boolean().default(true) }),
  ])
  .optional();

const LISTS = ['optOut', 'optIn', 'help', 'cancel'] as const;

const ChannelKeywordsSchema = z
  .strictObject({
    optOut: z.array(Word).optional(),
    optIn: z.array(Word).optional(),
    help: z.array(Word).optional(),
    cancel: z.array(Word).optional(),
    advancedOptOut: AdvancedOptOut,
  })
  .superRefine((block, ctx) => {
    const seen = new Map<string, string>();
    for (const list of LISTS) {
      for (const [i, raw] of (block[list] ?? []).entries()) {
        const word = keywordText(raw);
        if (FIXED_KEYWORDS.includes(word)) {
          ctx.addIssue({
            code: 'custom',
            path: [list, i],
            message: withHint(
              `${word} is a command on every channel (${FIXED_KEYWORDS.join(', ')})`,
              'pick another word.',
            ),
          });
        }
        const first = seen.get(word);
        if (first !== undefined && first !== list) {
          ctx.addIssue({
            code: 'custom',
            path: [list, i],
            message: withHint(
              `${word} is in both ${first} and ${list}`,
              `keep it in one list; to make a word cancel a question instead of opting out, take it out of optOut.`,
            ),
          });
        }
        seen.set(word, first ?? list);
      }
    }
  });

/** `keywords: { sms: {...}, whatsapp: {...}, voice: {...} }`, resolved into each channel's word table at load. */
export const KeywordsSchema = z
  .strictObject(
    Object.fromEntries(CHANNEL_NAMES.map((c) => [c, ChannelKeywordsSchema.optional()])) as Record<
      (typeof CHANNEL_NAMES)[number],
      z.ZodOptional<typeof ChannelKeywordsSchema>
    >,
  )
  .prefault({})
  .transform((settings) =>
    resolveKeywords(settings as Record<string, ChannelKeywordSettings | undefined>, CHANNEL_NAMES),
  );
