// Tracing off (no OTLP endpoint, or the SDK disabled): no SDK registered, nothing exported, no traceparent sent.
import { randomBytes } from 'node:crypto';
import { context, createContextKey, INVALID_SPAN_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { startTracing } from '../../../src/tracing.js';
import { startFakeProtectedApi, type FakeProtectedApi } from '../../fakes/protected-api.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { captureLogs } from '../../support/logs.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { bankBot, startBankHarness, TEXT } from '../auth/helpers.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

const hex = () => randomBytes(6).toString('hex');
const USERNAME = `off-${hex()}`;
const PASSWORD = `off-${hex()}-p@ss w/rd+`;
const EVENTS_SECRET = 'events-secret-0123456789';

let receiver: OtlpReceiver;
let bank: FakeProtectedApi;
let events: FakeEventReceiver;
let h: DialogHarness;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  bank = await startFakeProtectedApi();
  bank.addAccount(USERNAME, { password: PASSWORD, userId: `u-${USERNAME}` });
  events = await startEventReceiver(EVENTS_SECRET);
  h = await startBankHarness({
    bots: bankBot({ bank: bank.url }),
    label: 'tracing-off',
    adjust: (config) => {
      config.workspaces.test!.events = {
        url: events.url,
        secret: EVENTS_SECRET,
        types: ['conversation.started', 'user.verified'],
      };
    },
  });
});

afterAll(async () => {
  await h?.close();
  await events?.close();
  await bank?.close();
  await receiver?.close();
});

/** What the OpenTelemetry API has registered: with nothing, every call is its no-op. */
function registered() {
  const key = createContextKey('probe');
  return {
    recording: trace.getTracer('probe').startSpan('probe').isRecording(),
    spanContext: trace.getTracer('probe').startSpan('probe').spanContext(),
    propagatorFields: propagation.fields(),
    contextKept: context.with(context.active().setValue(key, 1), () => context.active().getValue(key)),
  };
}

const NOTHING = {
  recording: false,
  spanContext: INVALID_SPAN_CONTEXT,
  propagatorFields: [],
  contextKept: undefined,
};

describe('tracing off', () => {
  it('starts no SDK without an endpoint, nor with OTEL_SDK_DISABLED', async () => {
    const { logger, logs } = captureLogs('debug', 'tracing');
    const none = await startTracing(readEnv({}), logger);
    expect(none.enabled).toBe(false);
    const disabled = await startTracing(
      readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' }),
      logger,
    );
    expect(disabled.enabled).toBe(false);
    expect(registered()).toEqual(NOTHING);
    expect(logs.lines).toEqual([]);
    await none.shutdown();
    await disabled.shutdown();
  });

  it('a login and a protected API call export nothing and send no traceparent', async () => {
    const chat = h.whatsapp();
    expect(await chat.send('hi')).toEqual([TEXT.username]);
    expect(await chat.send(USERNAME)).toEqual([TEXT.password]);
    expect(await chat.send(PASSWORD)).toEqual(['Your balance is 120.50 EUR.']);
    const delivered = await events.waitForAccepted(2);
    expect(delivered.map((d) => d.event?.type).sort()).toEqual(['conversation.started', 'user.verified']);
    expect(delivered.map((d) => d.headers.traceparent)).toEqual([undefined, undefined]);
    const calls = bank.api.requests.map((r) => [r.method, r.url, r.headers.traceparent]);
    expect(calls).toEqual([
      ['POST', '/auth/token', undefined],
      ['GET', '/api/balance', undefined],
    ]);
    expect(registered()).toEqual(NOTHING);
    expect(receiver.requests).toEqual([]);
  });
});
