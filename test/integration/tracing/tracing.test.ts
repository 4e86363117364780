// Tracing on: a WhatsApp login and balance make one trace per message (webhook → turn → auth, request → send,
// operator event), exported to a loopback OTLP/HTTP receiver, with `traceparent` at the operator's services.
import { propagation } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { startTracing, type Tracing } from '../../../src/tracing.js';
import { captureLogs, type LogCollector } from '../../support/logs.js';
import { scanText } from '../../support/secret-scan.js';
import { newSid } from '../../support/webhooks.js';
import { sendJson } from '../../fakes/operator-api.js';
import { TEXT } from '../auth/helpers.js';
import { TEXT as ENGINE } from '../../../src/core/dialog.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { startTracedBank, type TracedBank } from './bank.js';

let receiver: OtlpReceiver;
let tracing: Tracing;
let tracingLogs: LogCollector;
let traced: TracedBank;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const captured = captureLogs('info', 'tracing');
  tracingLogs = captured.logs;
  tracing = await startTracing(
    readEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'switchboard-test',
      // Exported within moments of ending, so the test awaits spans arriving rather than a flush.
      OTEL_BSP_SCHEDULE_DELAY: '10',
    }),
    captured.logger,
  );
  traced = await startTracedBank('tracing');
});

afterAll(async () => {
  await traced?.close();
  await tracing?.shutdown();
  await receiver?.close();
});

/** The spans of the message that logs in and gets the balance (its user.verified event included). */
const LOGIN_TURN = [
  'webhook whatsapp',
  'turn',
  'auth bank-login',
  'request',
  'send whatsapp',
  'operator event',
];

/** The spans of one trace once every name is there (as often as listed), by name. */
async function traceWith(traceId: string, names: string[]): Promise<Record<string, ReceivedSpan>> {
  const count = (list: string[], name: string) => list.filter((n) => n === name).length;
  const spans = await receiver.waitFor((all) => {
    const have = all.filter((s) => s.traceId === traceId).map((s) => s.name);
    return names.every((name) => count(have, name) >= count(names, name));
  });
  const mine = spans.filter((s) => s.traceId === traceId);
  expect(mine.map((s) => s.name).sort()).toEqual([...names].sort());
  return Object.fromEntries(mine.map((s) => [s.name, s]));
}

/** The webhook span of one inbound message, once exported. */
async function webhookSpan(sid: string): Promise<ReceivedSpan> {
  const spans = await receiver.waitFor((all) =>
    all.some((s) => s.name === 'webhook whatsapp' && s.attributes['switchboard.event'] === sid),
  );
  return spans.find((s) => s.name === 'webhook whatsapp' && s.attributes['switchboard.event'] === sid)!;
}

describe('tracing over OTLP/HTTP', () => {
  it('says where spans go when it starts', () => {
    expect(tracing.enabled).toBe(true);
    // The W3C trace context only (no baggage): what every outgoing call and queued event carries.
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate']);
    expect(tracingLogs.find('tracing on')).toEqual([
      expect.objectContaining({
        level: 'info',
        endpoint: receiver.url,
        service: 'switchboard-test',
        sampler: 'parentbased_always_on',
      }),
    ]);
  });

  it('one trace per message: webhook → turn → auth and request → send, with traceparent at the operator', async () => {
    const { bank, events } = traced;
    const sids: [string, string, string] = [newSid(), newSid(), newSid()];
    const cid = await traced.login(sids);

    // The first message: a new conversation, so an operator event, delivered in the same trace.
    const first = await webhookSpan(sids[0]);
    const opening = await traceWith(first.traceId, [
      'webhook whatsapp',
      'turn',
      'send whatsapp',
      'operator event',
    ]);
    expect(opening['turn']!.parentSpanId).toBe(first.spanId);
    expect(opening['send whatsapp']!.parentSpanId).toBe(opening['turn']!.spanId);
    expect(opening['operator event']!.parentSpanId).toBe(opening['turn']!.spanId);

    // The password: the login call and the balance request are the turn's children, the reply's send too.
    const last = await webhookSpan(sids[2]);
    const spans = await traceWith(last.traceId, LOGIN_TURN);
    const webhook = spans['webhook whatsapp']!;
    const turn = spans['turn']!;
    const auth = spans['auth bank-login']!;
    const request = spans['request']!;
    const send = spans['send whatsapp']!;
    const event = spans['operator event']!;
    expect(new Set([first.traceId, last.traceId]).size).toBe(2);
    expect(webhook.parentSpanId).toBeUndefined();
    expect(turn.parentSpanId).toBe(webhook.spanId);
    expect(auth.parentSpanId).toBe(turn.spanId);
    expect(request.parentSpanId).toBe(turn.spanId);
    expect(send.parentSpanId).toBe(turn.spanId);
    expect(event.parentSpanId).toBe(turn.spanId);
    expect([webhook, turn, auth, request, send, event].map((s) => [s.kind, s.statusCode])).toEqual([
      [2, 0], // server
      [1, 0], // internal
      [1, 0],
      [3, 0], // client
      [3, 0],
      [3, 0],
    ]);
    for (const span of Object.values(spans)) {
      expect(span.service).toBe('switchboard-test');
      expect(span.scope).toBe('switchboard');
    }

    const conversation = {
      'switchboard.bot': 'bank',
      'switchboard.channel': 'whatsapp',
      'switchboard.conversation': cid,
    };
    const ofEvent = { ...conversation, 'switchboard.event': sids[2] };
    expect(webhook.attributes).toEqual({
      ...ofEvent,
      'http.request.method': 'POST',
      'http.route': '/webhooks/whatsapp',
      'http.response.status_code': 200,
    });
    expect(turn.attributes).toEqual({ ...ofEvent, 'switchboard.event.kind': 'message' });
    expect(auth.attributes).toEqual({
      ...ofEvent,
      'switchboard.component': 'bank-login',
      'switchboard.component.type': 'login',
      'switchboard.auth.result': 'success',
    });
    expect(request.attributes).toEqual({
      ...ofEvent,
      'switchboard.step.kind': 'request',
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'http.response.status_code': 200,
    });
    expect(send.attributes).toEqual({ ...conversation, 'switchboard.reply': `${sids[2]}:0` });
    expect(event.attributes).toEqual({
      'switchboard.operator_event.type': 'user.verified',
      'switchboard.operator_event.id': expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      'switchboard.workspace': 'test',
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'http.response.status_code': 200,
    });

    // The operator's auth service and protected API were told which span called them.
    const login = bank.api.requests.filter((r) => r.method === 'POST' && r.url === '/auth/token');
    const balance = bank.api.requests.filter((r) => r.method === 'GET' && r.url === '/api/balance');
    expect(login.map((r) => r.headers.traceparent)).toEqual([`00-${last.traceId}-${auth.spanId}-01`]);
    expect(balance.map((r) => r.headers.traceparent)).toEqual([`00-${last.traceId}-${request.spanId}-01`]);

    // So was the events receiver, outside the signed body, which is the event as before.
    const delivered = await events.waitForAccepted(2);
    const verified = delivered.find((d) => d.event?.type === 'user.verified')!;
    expect(verified.headers.traceparent).toBe(`00-${last.traceId}-${event.spanId}-01`);
    expect(Object.keys(verified.event!).sort()).toEqual(
      ['at', 'channel', 'data', 'externalId', 'id', 'type', 'userId', 'workspace'].sort(),
    );
    expect(verified.signature.ok).toBe(true);

    // No secret and no message text in anything exported: the password, the issued token, the typed username.
    const token = bank.balanceTokens[0]!;
    expect(token).toMatch(/^bank-[0-9a-f]{16}$/);
    const exported = receiver.bodies.join('\n');
    expect(scanText('OTLP export', exported, [traced.password, token, traced.username])).toEqual([]);
    expect(
      receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/json'),
    ).toBe(true);
  });

  it('a wrong password and a protected API answering 500: what the spans say', async () => {
    const { h, bank } = traced;
    const chat = h.whatsapp();
    const sids = [newSid(), newSid(), newSid(), newSid(), newSid()] as const;
    expect(await chat.send('hi', { MessageSid: sids[0] })).toEqual([TEXT.username]);
    expect(await chat.send(traced.username, { MessageSid: sids[1] })).toEqual([TEXT.password]);
    const wrongReplies = await chat.send(`wrong-${traced.password}`, { MessageSid: sids[2] });
    expect(wrongReplies).toEqual([TEXT.wrong, TEXT.username]);
    expect(await chat.send(traced.username, { MessageSid: sids[3] })).toEqual([TEXT.password]);
    bank.api.route('GET', '/api/balance', (_req, res) => sendJson(res, 500, { error: 'down' }));
    expect(await chat.send(traced.password, { MessageSid: sids[4] })).toEqual([ENGINE.requestFailed]);

    // A wrong password is an outcome, not a failure of the gateway: the span says which, unmarked.
    const wrong = await webhookSpan(sids[2]);
    const refused = await traceWith(wrong.traceId, [
      'webhook whatsapp',
      'turn',
      'auth bank-login',
      'send whatsapp', // the apology
      'send whatsapp', // the username prompt again
    ]);
    expect(refused['auth bank-login']!.attributes['switchboard.auth.result']).toBe('wrong_credentials');
    expect(refused['auth bank-login']!.statusCode).toBe(0);
    const sends = receiver.spans.filter((s) => s.traceId === wrong.traceId && s.name === 'send whatsapp');
    expect(sends.map((s) => [s.parentSpanId, s.attributes['switchboard.reply']])).toEqual([
      [refused['turn']!.spanId, `${sids[2]}:0`],
      [refused['turn']!.spanId, `${sids[2]}:1`],
    ]);

    // The protected API's 500 marks the request span failed; the turn itself went as designed.
    const last = await webhookSpan(sids[4]);
    const spans = await traceWith(last.traceId, LOGIN_TURN);
    const request = spans['request']!;
    expect([
      request.statusCode,
      request.attributes['http.response.status_code'],
      request.attributes['error.type'],
    ]).toEqual([2, 500, '500']);
    expect(spans['turn']!.statusCode).toBe(0);
    expect(spans['auth bank-login']!.attributes['switchboard.auth.result']).toBe('success');
    expect(scanText('OTLP export', receiver.bodies.join('\n'), [traced.password, traced.username])).toEqual(
      [],
    );
  });
});
