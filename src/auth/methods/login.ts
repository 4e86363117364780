// A `login` component: an auth service that takes the fields the user typed and answers with a token.
import { z } from 'zod';
import { readAnswerPath } from '../../core/answer-path.js';
import {
  AnswerPathSchema,
  CredentialFieldSchema,
  Headers,
  Method,
  NonEmpty,
  PositiveSeconds,
  VariableNameSchema,
  withHint,
} from '../../core/primitives.js';
import type { OutboundRequest } from '../../net/outbound.js';
import { namespacedUserId } from '../accounts.js';
import {
  AccountLimitSchema,
  ComponentKeys,
  type AuthDeps,
  type AuthMethod,
  type RefreshOutcome,
} from '../method.js';
import { callService, unavailable } from '../service-call.js';

/** Seconds a refresh token lives when the service's answer does not say: 30 days. */
export const DEFAULT_REFRESH_TTL = 2_592_000;

/** How a login component trades its refresh token for new tokens: a request template with `{{refresh_token}}`. */
const RefreshRequestSchema = z.strictObject({
  // POST only: a refresh token in a query string ends up in access logs.
  method: Method(['POST'] as const).default('POST'),
  url: NonEmpty,
  headers: Headers.optional(),
  /** Default `{ "refresh_token": "{{refresh_token}}" }`. */
  body: z.unknown().optional(),
  /** Seconds a refresh token lives when the answer has no `refreshExpiresInPath` value. */
  ttl: PositiveSeconds.default(DEFAULT_REFRESH_TTL),
});

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
    /** Where the login (and refresh) answer carries a refresh token. */
    refreshTokenPath: AnswerPathSchema.optional(),
    /** Where it says how many seconds the refresh token lives. */
    refreshExpiresInPath: AnswerPathSchema.optional(),
    refresh: RefreshRequestSchema.optional(),
    ttl: ComponentKeys.ttl,
    userIdPath: AnswerPathSchema.optional(),
    userNamespace: ComponentKeys.userNamespace,
    maxAttempts: ComponentKeys.maxAttempts,
    lockout: ComponentKeys.lockout,
    account: AccountLimitSchema.extend({ field: VariableNameSchema.optional() }).optional(),
    timeout: ComponentKeys.timeout,
  })
  .superRefine((component, ctx) => {
    if ((component.refresh === undefined) !== (component.refreshTokenPath === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [component.refresh === undefined ? 'refreshTokenPath' : 'refresh'],
        message: withHint(
          component.refresh === undefined
            ? 'refreshTokenPath needs refresh: a refresh token nobody can use is not kept'
            : 'refresh needs refreshTokenPath: where the login answer carries the refresh token',
          'set both refresh (the request that trades the refresh token) and refreshTokenPath, or neither.',
        ),
      });
    }
    if (component.refreshExpiresInPath !== undefined && component.refreshTokenPath === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['refreshExpiresInPath'],
        message: withHint(
          'refreshExpiresInPath applies only with refreshTokenPath',
          'remove refreshExpiresInPath, or set refreshTokenPath and refresh.',
        ),
      });
    }
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
    const refresh = component.refresh;
    if (refresh && typeof refresh === 'object' && !Array.isArray(refresh)) {
      const at = [...path, 'refresh'];
      const r = refresh as Record<string, unknown>;
      checks.url(r.url, [...at, 'url']);
      checks.headers(r.headers, [...at, 'headers']);
      checks.body(r.body, [...at, 'body']);
    }
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
    const issued = issuedTokens(component, response);
    if (!issued) return unavailable('the auth service answer has no token where configured');
    const { accessToken: token, ...rest } = issued;
    const answered = component.userIdPath ? readAnswerPath(response.json, component.userIdPath) : undefined;
    if ((typeof answered === 'string' && answered !== '') || typeof answered === 'number')
      return { result: 'success', token, ...rest, userId: String(answered) };
    const typed = values[accountField(component)];
    if (!typed) return unavailable('the auth service answer has no user id where configured');
    return {
      result: 'success',
      token,
      ...rest,
      userId: namespacedUserId(name, component, typed, 'typed'),
    };
  },
  refresh: (_name, component, refreshToken, deps) => refreshLogin(component, refreshToken, deps),
};

/** The tokens of a login (or refresh) answer, read at the component's paths; undefined without an access token. */
function issuedTokens(
  component: LoginComponent,
  response: { json: unknown; text: string },
):
  { accessToken: string; ttlSeconds: number; refreshToken?: string; refreshTtlSeconds?: number } | undefined {
  const token = component.token.path ? readAnswerPath(response.json, component.token.path) : response.text;
  if (typeof token !== 'string' || token === '') return undefined;
  const seconds = (path: string | undefined) => {
    const value = path ? Number(readAnswerPath(response.json, path)) : NaN;
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  const ttlSeconds = seconds(component.expiresInPath) ?? component.ttl;
  const refresh = component.refresh;
  const refreshToken =
    refresh && component.refreshTokenPath
      ? readAnswerPath(response.json, component.refreshTokenPath)
      : undefined;
  if (!refresh || typeof refreshToken !== 'string' || refreshToken === '')
    return { accessToken: token, ttlSeconds };
  return {
    accessToken: token,
    ttlSeconds,
    refreshToken,
    refreshTtlSeconds: seconds(component.refreshExpiresInPath) ?? refresh.ttl,
  };
}

/** Trades the refresh token at the component's `refresh` request; 400, 401 or 403 means sign in again. */
async function refreshLogin(
  component: LoginComponent,
  refreshToken: string,
  deps: AuthDeps,
): Promise<RefreshOutcome> {
  const refresh = component.refresh;
  if (!refresh) return { result: 'refused', reason: 'the component has no refresh request' };
  const values = { refresh_token: refreshToken };
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(refresh.headers ?? {}))
    headers[header] = deps.templates.header(value, values);
  const response = await callService(deps.http, {
    method: 'POST',
    url: refresh.url,
    headers,
    body: refresh.body !== undefined ? deps.templates.body(refresh.body, values) : { ...values },
    timeoutMs: component.timeout * 1000,
  });
  if (!('status' in response))
    return {
      result: 'unavailable',
      reason: response.result === 'unavailable' ? response.reason : 'the refresh call failed',
    };
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    // invalid_grant is the usual answer; any refusal of the refresh token means the same to the user.
    const code = readAnswerPath(response.json, 'error');
    return {
      result: 'refused',
      reason: `the refresh service answered ${response.status}${code === 'invalid_grant' ? ' invalid_grant' : ''}`,
    };
  }
  if (response.status < 200 || response.status >= 300)
    return { result: 'unavailable', reason: `the refresh service answered ${response.status}` };
  const issued = issuedTokens(component, response);
  if (!issued) return { result: 'unavailable', reason: 'the refresh answer has no token where configured' };
  return { result: 'success', ...issued };
}
