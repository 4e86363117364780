// A `verify` component: an endpoint that takes a member number and a code and says yes or no.
import { Liquid } from 'liquidjs';
import { z } from 'zod';
import { readAnswerPath } from '../../core/answer-path.js';
import { AnswerPathSchema, CredentialFieldSchema, NonEmpty, withHint } from '../../core/primitives.js';
import { namespacedUserId } from '../accounts.js';
import { ComponentKeys, type AuthMethod } from '../method.js';
import { callService, unavailable } from '../service-call.js';

// Parsing only, for check-config: which fields a `userId` template names.
const liquid = new Liquid();

const VerifyComponentSchema = z
  .strictObject({
    type: z.literal('verify'),
    url: NonEmpty,
    fields: z.array(CredentialFieldSchema).superRefine((fields, ctx) => {
      if (fields.length < 2) {
        ctx.addIssue({
          code: 'custom',
          message: withHint(
            `a verify component needs 2 fields, found ${fields.length}`,
            'list the member number (sent as auth_id) then the code (sent as auth_code).',
          ),
        });
      }
    }),
    /** Where the verification answer names the user: the workspace's own id, used as is. */
    userIdPath: AnswerPathSchema.optional(),
    /** The user id as a template over the typed (not secret) fields, e.g. "{{auth_id}}": the workspace's own id. */
    userId: NonEmpty.optional(),
    ...ComponentKeys,
  })
  .superRefine((component, ctx) => {
    if (component.userIdPath !== undefined && component.userId !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['userId'],
        message: withHint(
          'userId and userIdPath both name the user; a component takes one of them',
          'keep userIdPath when the verification service answers with the user id, else userId.',
        ),
      });
    }
    const naming =
      component.userIdPath !== undefined
        ? 'userIdPath'
        : component.userId !== undefined
          ? 'userId'
          : undefined;
    if (naming !== undefined && component.userNamespace !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['userNamespace'],
        message: withHint(
          `userNamespace does not apply with ${naming}: that id is the workspace's own, used as is`,
          `remove userNamespace, or remove ${naming} to name users by the member number they type.`,
        ),
      });
    }
  });
export type VerifyComponent = z.output<typeof VerifyComponentSchema>;

/** Whether the component names its users itself (`userIdPath` or `userId`), never `namespace:what-they-typed`. */
function namesUsers(component: Record<string, unknown>): boolean {
  return component.userIdPath !== undefined || component.userId !== undefined;
}

/** The fields a `userId` template names, or undefined when it does not parse (checks.text reports that). */
function templateVariables(source: string): string[] | undefined {
  try {
    return liquid.globalVariablesSync(source);
  } catch {
    return undefined;
  }
}

/** The member number is the first field (sent as `auth_id`), the code the second (`auth_code`). */
export const verify: AuthMethod<VerifyComponent> = {
  type: 'verify',
  schema: VerifyComponentSchema,
  check(component, path, checks) {
    checks.url(component.url, [...path, 'url']);
    const template = component.userId;
    if (typeof template !== 'string') return;
    checks.text(template, [...path, 'userId']);
    const fields = Array.isArray(component.fields)
      ? component.fields.filter(
          (f): f is { name: string; secret?: unknown } =>
            typeof f === 'object' && f !== null && typeof (f as { name?: unknown }).name === 'string',
        )
      : [];
    const typed = fields.filter((f) => f.secret !== true).map((f) => f.name);
    for (const name of templateVariables(template) ?? []) {
      if (typed.includes(name)) continue;
      const secret = fields.some((f) => f.name === name);
      checks.problem(
        [...path, 'userId'],
        secret
          ? `field "${name}" is secret and cannot name the user (user ids appear in events, logs and the operator API)`
          : `userId names "${name}", which is not a field of this component`,
        `name the user by the fields the user types: ${typed.map((n) => `{{${n}}}`).join(', ') || 'none is not secret'}.`,
      );
    }
  },
  namesUsersByAnswer: namesUsers,
  async authenticate(name, component, values, deps) {
    const [idField, codeField] = component.fields;
    const authId = values[idField!.name] ?? '';
    const authCode = values[codeField!.name] ?? '';
    const response = await callService(deps.http, {
      method: 'POST',
      url: component.url,
      body: { auth_id: authId, auth_code: authCode },
      timeoutMs: component.timeout * 1000,
    });
    if (!('status' in response)) return response;
    if (response.status === 400) return { result: 'wrong_credentials' };
    if (response.status !== 200) return unavailable(`verification endpoint answered ${response.status}`);
    const status = readAnswerPath(response.json, 'status');
    if (status !== true) return { result: 'wrong_credentials' };
    const userId = userIdOf(name, component, values, response.json, deps.templates.text.bind(deps.templates));
    if (userId === undefined)
      return unavailable(
        component.userIdPath !== undefined
          ? 'the verification answer has no user id where configured'
          : 'the userId template rendered an empty user id',
      );
    return {
      result: 'success',
      token: authCode,
      ttlSeconds: component.ttl,
      userId,
      extra: { auth_id: authId, auth_code: authCode },
    };
  },
};

/**
 * The user a success binds to: the service's answer at `userIdPath`, or the `userId` template over the
 * typed fields (both the workspace's own ids, as login's `userIdPath`), else the member number in the
 * component's namespace.
 */
function userIdOf(
  name: string,
  component: VerifyComponent,
  values: Record<string, string>,
  answer: unknown,
  render: (source: string, ctx: Record<string, unknown>) => string,
): string | undefined {
  if (component.userIdPath !== undefined) {
    const answered = readAnswerPath(answer, component.userIdPath);
    if ((typeof answered === 'string' && answered !== '') || typeof answered === 'number')
      return String(answered);
    return undefined;
  }
  if (component.userId !== undefined) {
    // Only what the user typed in the clear: a code never becomes part of an id.
    const typed = Object.fromEntries(
      component.fields
        .filter((f) => !f.secret && Object.hasOwn(values, f.name))
        .map((f) => [f.name, values[f.name]]),
    );
    const rendered = render(component.userId, typed).trim();
    return rendered === '' ? undefined : rendered;
  }
  const [idField] = component.fields;
  return namespacedUserId(name, component, values[idField!.name] ?? '', 'typed');
}
