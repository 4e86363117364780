// `request: { method, url, ... }`: calls an operator API and saves parts of its JSON answer.
import { z } from '../../zod.js';
import { readAnswerPath } from '../../answer-path.js';
import { RemoteApiError } from '../../errors.js';
import type { RemoteApiResponse } from '../../ports/remote-api.js';
import type { CachedToken } from '../../ports/tokens.js';
import {
  AnswerPathSchema,
  Count,
  HTTP_METHODS,
  Headers,
  Method,
  NonEmpty,
  PositiveSeconds,
  VariableNameSchema,
  withHint,
} from '../../schema-parts.js';
import { TemplateError, type TemplateContext } from '../../templates.js';
import { RESUME, ensureToken, startCredentials } from '../credentials.js';
import { asMapping, defineStep, type StepOutcome } from '../step.js';
import { text } from '../text.js';
import type { Turn } from '../turn.js';

export const RequestOptionsSchema = z
  .strictObject({
    method: Method(HTTP_METHODS).default('GET'),
    url: NonEmpty,
    headers: Headers.optional(),
    body: z.unknown().optional(),
    auth: NonEmpty.optional(),
    save: z.record(VariableNameSchema, AnswerPathSchema).optional(),
    timeout: PositiveSeconds.default(10),
    retry: Count.default(0),
    onError: NonEmpty.optional(),
  })
  .superRefine((request, ctx) => {
    // Repeating a POST or PATCH after a lost answer could do the operation twice.
    if (request.retry > 0 && (request.method === 'POST' || request.method === 'PATCH')) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry'],
        message: withHint(
          `a ${request.method} request is not retried: it may not be safe to repeat`,
          'remove "retry", or use onError to offer another path.',
        ),
      });
    }
  });
export type RequestOptions = z.output<typeof RequestOptionsSchema>;

/** Pause before retrying an idempotent request, times the attempt number. */
const RETRY_PAUSE_MS = 200;

export const request = defineStep({
  kind: 'request',
  schema: RequestOptionsSchema,
  check: (value, at, checks) => {
    const options = asMapping(value);
    checks.url(options.url, [...at, 'url']);
    checks.headers(options.headers, [...at, 'headers']);
    checks.body(options.body, [...at, 'body']);
    checks.auth(options.auth, [...at, 'auth']);
    checks.flow(options.onError, [...at, 'onError']);
  },
  run: async (turn, options): Promise<StepOutcome> => {
    let token: CachedToken | undefined;
    if (options.auth) {
      const ready = await ensureToken(turn, options.auth);
      if (ready !== 'ready') return ready;
      token = turn.tokens.get(options.auth);
    }
    let response;
    // Where the step is now: a jump (onError) or a new sign-in moves the state on before the outcome is told.
    const at = { flow: turn.state.flow, step: turn.state.step };
    let host = '';
    // A refused token is refreshed once per run of the step and the same request sent again; a second
    // refusal asks the user (no loop).
    for (let refreshed = false; ; refreshed = true) {
      const context = await turn.context(token);
      try {
        response = await send(turn, options, context, (url) => (host = hostOf(url)));
      } catch (error) {
        // A value the user typed can make a URL template unusable (a ".." segment): refuse it like a bad host.
        const refused = (error instanceof RemoteApiError && error.refused) || error instanceof TemplateError;
        if (!refused && !(error instanceof RemoteApiError)) throw error;
        if (refused) turn.services.report(`request refused: ${error instanceof Error ? error.message : ''}`);
        turn.services.requestOutcome({
          ...at,
          host: host || (error instanceof RemoteApiError ? error.host : ''),
          reason: refused ? 'refused' : (error as RemoteApiError).reason,
        });
        return failed(turn, options);
      }
      if (!(response.status === 401 || response.status === 403) || !options.auth) break;
      turn.services.requestOutcome({ ...at, host, status: response.status, reason: 'status' });
      const renewed = refreshed ? undefined : await turn.services.refreshToken(options.auth, { force: true });
      if (renewed?.result === 'refreshed') {
        token = renewed.token;
        turn.tokens.set(options.auth, token);
        turn.authtoken = token.token;
        continue;
      }
      if (renewed?.result === 'unavailable') {
        // The token was refused and the provider cannot renew it now: the next message tries again.
        turn.tokens.delete(options.auth);
        turn.emit('auth.failed', { component: options.auth, reason: 'unavailable' });
        turn.say(await text(turn, 'authUnavailable'));
        turn.state.pending = { kind: RESUME };
        return 'waiting';
      }
      // The token was refused and cannot be renewed: forget it, ask for credentials again, then repeat
      // this same request.
      await turn.services.revokeToken(options.auth);
      turn.tokens.delete(options.auth);
      return startCredentials(turn, options.auth);
    }
    const ok = response.status >= 200 && response.status < 300;
    turn.services.requestOutcome({ ...at, host, status: response.status, reason: ok ? 'ok' : 'status' });
    if (!ok) return failed(turn, options);
    for (const [name, path] of Object.entries(options.save ?? {})) {
      turn.state.vars[name] = readAnswerPath(response.json, path) ?? '';
    }
    return 'advance';
  },
});

async function send(
  turn: Turn,
  options: RequestOptions,
  context: TemplateContext,
  built: (url: string) => void,
): Promise<RemoteApiResponse> {
  const { templates, clock } = turn.tools;
  const idempotent = options.method === 'GET' || options.method === 'PUT' || options.method === 'DELETE';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {}))
    headers[name] = templates.header(value, context);
  const call = {
    method: options.method,
    url: templates.url(options.url, context),
    headers,
    timeoutMs: options.timeout * 1000,
    ...(options.body !== undefined ? { body: templates.body(options.body, context) } : {}),
  };
  built(call.url);
  for (let attempt = 0; ; attempt++) {
    const retriesLeft = idempotent ? options.retry - attempt : 0;
    if (attempt > 0) await clock.sleep(RETRY_PAUSE_MS * attempt); // a short pause: the user is waiting
    try {
      const response = await turn.services.http(call);
      if (response.status >= 500 && retriesLeft > 0) continue;
      return response;
    } catch (error) {
      if (error instanceof RemoteApiError && error.retryable && retriesLeft > 0) continue;
      throw error;
    }
  }
}

/** The host (and port) of a URL, never its path, query or credentials; '' when it is not a URL. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

async function failed(turn: Turn, options: RequestOptions): Promise<StepOutcome> {
  if (options.onError) {
    turn.jump(options.onError);
    return 'jumped';
  }
  turn.say(await text(turn, 'requestFailed'));
  return 'ended';
}
