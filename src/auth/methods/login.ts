// A `login` component: an auth service that takes the fields the user typed and answers with a token.
import { z } from 'zod';
import { readAnswerPath } from '../../core/answer-path.js';
import {
  AnswerPathSchema,
  CredentialFieldSchema,
  Headers,
  Method,
  NonEmpty,
  VariableNameSchema,
  withHint,
} from '../../core/primitives.js';
import type { OutboundRequest } from '../../net/outbound.js';
import { namespacedUserId } from '../accounts.js';
import { AccountLimitSchema, ComponentKeys, type AuthMethod } from '../method.js';
import { callService, unavailable } from '../service-call.js';

const LoginComponentSchema = z
  .strictObject({
    type: z.literal('login'),
    method: Method(['GET', 'POST'] as const).default('POST'),
    url: NonEmpty,
    headers: Headers.optional(),
    fields: z.array(CredentialFieldSchema).min(1),
    body: z.unknown().optional(),
    token: z.strictObject({ path: AnswerPathSchema.optional() }).default({}),
    expiresInPath: AnswerPathSchema.optional(),
    ttl: ComponentKeys.ttl,
    userIdPath: AnswerPathSchema.optional(),
    userNamespace: ComponentKeys.userNamespace,
    maxAttempts: ComponentKeys.maxAttempts,
    lockout: ComponentKeys.lockout,
    account: AccountLimitSchema.extend({ field: VariableNameSchema.optional() }).optional(),
    timeout: ComponentKeys.timeout,
  })
  .superRefine((component, ctx) => {
    if (component.userIdPath !== undefined && component.userNamespace !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['userNamespace'],
        message: withHint(
          'userNamespace does not apply with userIdPath: the service names the user, and that id is used as is',
          'remove userNamespace, or remove userIdPath to name users by what they type.',
        ),
      });
    }
    const field = component.account?.field;
    if (field === undefined) return;
    const named = component.fields.find((f) => f.name === field);
    if (!named || named.secret) {
      ctx.addIssue({
        code: 'custom',
        path: ['account', 'field'],
        message: withHint(
          named ? `field "${field}" is secret and cannot name the account` : `there is no field "${field}"`,
          `name the field the user types their account id in: ${component.fields
            .filter((f) => !f.secret)
            .map((f) => `"${f.name}"`)
            .join(', ')}.`,
        ),
      });
    }
  });
export type LoginComponent = z.output<typeof LoginComponentSchema>;

/** The field whose answer names the account: `account.field`, else the first field. */
function accountField(component: LoginComponent): string {
  return component.account?.field ?? component.fields[0]!.name;
}

export const login: AuthMethod<LoginComponent> = {
  type: 'login',
  schema: LoginComponentSchema,
  check(component, path, checks) {
    checks.url(component.url, [...path, 'url']);
    checks.headers(component.headers, [...path, 'headers']);
    checks.body(component.body, [...path, 'body']);
  },
  namesUsersByAnswer: (component) => component.userIdPath !== undefined,
  accountField,
  async authenticate(name, component, values, deps) {
    const timeoutMs = component.timeout * 1000;
    const headers: Record<string, string> = {};
    for (const [header, value] of Object.entries(component.headers ?? {}))
      headers[header] = deps.templates.header(value, values);
    const request: Omit<OutboundRequest, 'allowHosts'> =
      component.method === 'GET'
        ? { method: 'GET', url: component.url, query: values, headers, timeoutMs }
        : {
            method: 'POST',
            url: component.url,
            headers,
            body: component.body !== undefined ? deps.templates.body(component.body, values) : { ...values },
            timeoutMs,
          };
    const response = await callService(deps.http, request);
    if (!('status' in response)) return response;
    if (response.status === 400 || response.status === 401 || response.status === 403)
      return { result: 'wrong_credentials' };
    if (response.status < 200 || response.status >= 300)
      return unavailable(`auth service answered ${response.status}`);
    const token = component.token.path ? readAnswerPath(response.json, component.token.path) : response.text;
    if (typeof token !== 'string' || token === '')
      return unavailable('the auth service answer has no token where configured');
    const expiresIn = component.expiresInPath
      ? Number(readAnswerPath(response.json, component.expiresInPath))
      : NaN;
    const ttlSeconds = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : component.ttl;
    const answered = component.userIdPath ? readAnswerPath(response.json, component.userIdPath) : undefined;
    if ((typeof answered === 'string' && answered !== '') || typeof answered === 'number')
      return { result: 'success', token, ttlSeconds, userId: String(answered) };
    const typed = values[accountField(component)];
    if (!typed) return unavailable('the auth service answer has no user id where configured');
    return {
      result: 'success',
      token,
      ttlSeconds,
      userId: namespacedUserId(name, component, typed, 'typed'),
    };
  },
};
