// Calls an auth component: a `login` service that returns a token, or a `verify` endpoint that says yes or no.
import type { AuthComponent } from '../config/index.js';
import { accountField, namespacedUserId } from './accounts.js';
import { readAnswerPath } from '../config/index.js';
import type { AuthOutcome } from '../core/ports.js';
import type { Templates } from '../core/templates.js';
import { OutboundError } from '../net/errors.js';
import type { OutboundRequest, OutboundResponse } from '../net/outbound.js';

export type HttpCall = (request: Omit<OutboundRequest, 'allowHosts'>) => Promise<OutboundResponse>;

function unavailable(reason: string): AuthOutcome {
  return { result: 'unavailable', reason };
}

async function call(
  http: HttpCall,
  request: Omit<OutboundRequest, 'allowHosts'>,
): Promise<OutboundResponse | AuthOutcome> {
  try {
    return await http(request);
  } catch (error) {
    if (error instanceof OutboundError) return unavailable(error.message);
    throw error;
  }
}

/**
 * Trades the credentials the user typed for an outcome. The values are never logged or kept here.
 * `name` is the component's name: typed user ids are namespaced by it (see `namespacedUserId`).
 */
export async function authenticate(
  name: string,
  component: AuthComponent,
  values: Record<string, string>,
  deps: { http: HttpCall; templates: Templates },
): Promise<AuthOutcome> {
  const timeoutMs = component.timeout * 1000;
  if (component.type === 'verify') {
    const [idField, codeField] = component.fields;
    const authId = values[idField!.name] ?? '';
    const authCode = values[codeField!.name] ?? '';
    const response = await call(deps.http, {
      method: 'POST',
      url: component.url,
      body: { auth_id: authId, auth_code: authCode },
      timeoutMs,
    });
    if (!('status' in response)) return response;
    if (response.status === 400) return { result: 'wrong_credentials' };
    if (response.status !== 200) return unavailable(`verification endpoint answered ${response.status}`);
    const status = readAnswerPath(response.json, 'status');
    if (status !== true) return { result: 'wrong_credentials' };
    return {
      result: 'success',
      token: authCode,
      ttlSeconds: component.ttl,
      userId: namespacedUserId(name, component, authId, 'typed'),
      extra: { auth_id: authId, auth_code: authCode },
    };
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(component.headers ?? {}))
    headers[name] = deps.templates.header(value, values);
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
  const response = await call(deps.http, request);
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
  return { result: 'success', token, ttlSeconds, userId: namespacedUserId(name, component, typed, 'typed') };
}
