// The zod pieces both the step schemas (in core) and the rest of the configuration schema are built of.
import { z } from './zod.js';

/** Names a flow, save or set may not take: the template context already has them. */
export const RESERVED_VARIABLES = ['input', 'authtoken', 'user', 'channel', 'from', 'bot'] as const;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `data.items[0].amount` or `data.items.0.amount`; a leading `[0]` reads into an answer that is a list.
const ANSWER_PATH = /^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/;

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A message with its hint, joined so a refinement can carry both through zod. */
export function withHint(message: string, hint: string): string {
  return `${message}\n${hint}`;
}

// Text that is rendered (a template or plain words): YAML turns `say: 42` into a number, which is still text.
export const Text = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  z.string(),
);

export const NonEmpty = z.string().min(1);

export const VariableNameSchema = z.string().superRefine((name, ctx) => {
  if (!VARIABLE_NAME.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `"${name}" is not a valid variable name`,
        'use letters, digits and "_", starting with a letter or "_".',
      ),
    });
  } else if ((RESERVED_VARIABLES as readonly string[]).includes(name)) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `"${name}" is a reserved variable name`,
        `pick another name; reserved: ${RESERVED_VARIABLES.join(', ')}.`,
      ),
    });
  }
});

export const PositiveSeconds = z.number().positive();
export const Count = z.int().min(0);

export const Pattern = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: withHint(
        `not a valid regular expression: ${(err as Error).message}`,
        'write a JavaScript regular expression without surrounding slashes, e.g. "^[0-9]{4}$".',
      ),
    });
  }
});

export const AnswerPathSchema = z.string().regex(ANSWER_PATH, {
  error: withHint('not a valid path into the JSON answer', 'write it like "data.items[0].amount".'),
});

export const Method = <const M extends readonly [string, ...string[]]>(methods: M) =>
  z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(methods));

export const Headers = z.record(z.string(), Text);

export function digitsNeedKeypad(
  value: { digits?: number | undefined; keypad: boolean },
  ctx: z.RefinementCtx,
): void {
  if (value.digits !== undefined && !value.keypad) {
    ctx.addIssue({
      code: 'custom',
      path: ['digits'],
      message: withHint(
        '"digits" only applies to keypad input',
        'add "keypad: true", or use "pattern" to check the length of a typed answer.',
      ),
    });
  }
}
