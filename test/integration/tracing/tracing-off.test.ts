// Tracing off (no OTLP endpoint, or the SDK disabled): no SDK registered, nothing exported, no traceparent sent.
import { context, createContextKey, INVALID_SPAN_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { startTracing } from '../../../src/tracing.js';
import { captureLogs } from '../../support/logs.js';
import { newSid } from '../../support/webhooks.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';
import { startTracedBank, type TracedBank } from './bank.js';

let receiver: OtlpReceiver;
let traced: TracedBank;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  traced = await startTracedBank('tracing-off');
});

afterAll(async () => {
  await traced?.close();
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
    const { bank, events } = traced;
    await traced.login([newSid(), newSid(), newSid()]);
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
