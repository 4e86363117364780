// Schema pieces the config and the auth methods' schemas share: names and credential fields, over schema-parts.
import { z } from './zod.js';
import { Pattern, Text, VariableNameSchema, digitsNeedKeypad, withHint } from './schema-parts.js';

export * from './schema-parts.js';

export const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const Id = z.string().regex(ID, {
  error: withHint(
    'not a valid name',
    'use letters, digits, "-", "_" and ".", starting with a letter or digit.',
  ),
});

const CredentialFieldObject = z.strictObject({
  name: VariableNameSchema,
  prompt: Text,
  secret: z.boolean().default(false),
  keypad: z.boolean().default(false),
  digits: z.int().positive().optional(),
  pattern: Pattern.optional(),
});

export const CredentialFieldSchema = CredentialFieldObject.superRefine(digitsNeedKeypad);
export type CredentialField = z.output<typeof CredentialFieldSchema>;
