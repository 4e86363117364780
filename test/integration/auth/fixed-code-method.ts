// A test-only auth method, registered from outside src/: the user types a member name and the component's fixed code.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { namespacedUserId } from '../../../src/auth/accounts.js';
import { registerAuthMethod, type AuthMethod } from '../../../src/auth/index.js';
import { ComponentKeys } from '../../../src/auth/method.js';
import { CredentialFieldSchema, withHint } from '../../../src/core/primitives.js';

const FixedCodeComponentSchema = z
  .strictObject({
    type: z.literal('fixed-code'),
    code: z.string().regex(/^\d{4,}$/, {
      error: withHint('not a fixed code', 'write four digits or more, e.g. "2468".'),
    }),
    fields: z.array(CredentialFieldSchema).length(2),
    ...ComponentKeys,
  })
  .superRefine((component, ctx) => {
    if (component.fields[1]?.secret === false) {
      ctx.addIssue({
        code: 'custom',
        path: ['fields', 1, 'secret'],
        message: withHint('the code field must be secret', 'add "secret: true".'),
      });
    }
  });
type FixedCodeComponent = z.output<typeof FixedCodeComponentSchema>;

/** The member name is the first field, the code the second; the token is made up (no service is called). */
export const fixedCode: AuthMethod<FixedCodeComponent> = {
  type: 'fixed-code',
  schema: FixedCodeComponentSchema,
  check(component, path, checks) {
    // A prompt that says the code gives it away: the schema cannot see that, check-config can.
    const code = component.code;
    if (typeof code !== 'string' || !Array.isArray(component.fields)) return;
    component.fields.forEach((field: unknown, i) => {
      const prompt = (field as { prompt?: unknown } | null)?.prompt;
      if (typeof prompt === 'string' && prompt.includes(code))
        checks.problem([...path, 'fields', i, 'prompt'], 'this prompt gives the code away', 'ask for it.');
    });
  },
  async authenticate(name, component, values) {
    const member = values[component.fields[0]!.name] ?? '';
    const typed = Buffer.from(values[component.fields[1]!.name] ?? '');
    const code = Buffer.from(component.code);
    if (member === '' || typed.length !== code.length || !timingSafeEqual(typed, code))
      return { result: 'wrong_credentials' };
    return {
      result: 'success',
      token: `fixed-${member}`,
      ttlSeconds: component.ttl,
      userId: namespacedUserId(name, component, member, 'typed'),
    };
  },
};

registerAuthMethod(fixedCode);
