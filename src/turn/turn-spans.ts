// The spans of a turn's calls to the operator: `auth <component>` and `request` (ids, method, host, status; never values).
import type { AuthComponent } from '../config/index.js';
import type { AuthOutcome, DialogServices } from '../core/ports.js';
import { conversationAttributes, failed, hostOf, inSpan, SpanKind, type SpanAttributes } from '../tracing.js';
import type { TurnScope } from './turn-services.js';

type Http = DialogServices['http'];

export function turnSpans(scope: TurnScope, http: Http) {
  const ofTurn = (): SpanAttributes =>
    conversationAttributes({
      bot: scope.botId,
      channel: scope.event.channel,
      conversation: scope.cid,
      event: scope.event.id,
    });

  /** A request step's call to a protected API, through `http`. */
  const requestSpan: Http = (request) =>
    inSpan(
      'request',
      {
        kind: SpanKind.CLIENT,
        attributes: () => {
          const host = hostOf(request.url);
          return {
            ...ofTurn(),
            'switchboard.step.kind': 'request',
            'http.request.method': request.method.toUpperCase(),
            ...(host !== undefined ? { 'server.address': host } : {}),
          };
        },
      },
      async (span) => {
        const response = await http(request);
        span.setAttribute('http.response.status_code', response.status);
        if (response.status >= 400) failed(span, String(response.status));
        return response;
      },
    );

  /** An auth component's call to the operator's auth service, with its outcome. */
  const authSpan = (name: string, component: AuthComponent, work: () => Promise<AuthOutcome>) =>
    inSpan(
      `auth ${name}`,
      {
        attributes: () => ({
          ...ofTurn(),
          'switchboard.component': name,
          'switchboard.component.type': component.type,
        }),
      },
      async (span) => {
        const outcome = await work();
        span.setAttribute('switchboard.auth.result', outcome.result);
        if (outcome.result === 'unavailable') failed(span, 'unavailable');
        return outcome;
      },
    );

  return { requestSpan, authSpan };
}
