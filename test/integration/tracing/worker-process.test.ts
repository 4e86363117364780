// `switchboard worker` with an OTLP endpoint: its turns continue the webhook's trace from another process, and
// its spans are sent when it stops on SIGTERM (the batch would otherwise wait ten minutes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { startTracing, type Tracing } from '../../../src/tracing.js';
import { startFakeProtectedApi, type FakeProtectedApi } from '../../fakes/protected-api.js';
import { captureLogs } from '../../support/logs.js';
import { ensureBuilt } from '../../support/processes.js';
import { newSid } from '../../support/webhooks.js';
import { bankBot, TEXT } from '../auth/helpers.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { NUMBERS } from '../../support/config.js';
import { randomNumber } from '../dialog/helpers.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

let receiver: OtlpReceiver;
let bank: FakeProtectedApi;
let tracing: Tracing;
let h: Harness;

beforeAll(async () => {
  ensureBuilt();
  receiver = await startOtlpReceiver();
  bank = await startFakeProtectedApi();
  // This process is the web role (its webhook spans go out at once); the worker is a child process.
  tracing = await startTracing(
    readEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'web',
      OTEL_BSP_SCHEDULE_DELAY: '10',
    }),
    captureLogs('info', 'tracing').logger,
  );
  h = await startHarness({
    bots: bankBot({ bank: bank.url }),
    allowHosts: ['127.0.0.1'],
    label: 'tracing-worker',
    gateway: { web: true, workers: false },
  });
});

afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
  await bank?.close();
  await receiver?.close();
});

describe('a worker process with tracing on', () => {
  it('continues the trace of the webhook and sends its spans on SIGTERM', async () => {
    const worker = await h.spawn('worker', 'worker', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_SERVICE_NAME: 'worker',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    expect(worker.logs.find('tracing on')).toEqual([
      expect.objectContaining({
        endpoint: receiver.url,
        service: 'worker',
        sampler: 'parentbased_always_on',
      }),
    ]);
    const from = randomNumber();
    const sid = newSid();
    const answer = await h.webhooks.whatsapp(from, 'hi', {
      To: `whatsapp:${NUMBERS.whatsapp}`,
      MessageSid: sid,
    });
    expect(answer.status).toBe(200);
    const replies = await h.twilio.waitForMessages(`whatsapp:${from}`, 1);
    expect(replies.map((m) => m.body)).toEqual([TEXT.username]);
    const [webhook] = (
      await receiver.waitFor((all) => all.some((s) => s.attributes['switchboard.event'] === sid))
    ).filter((s) => s.attributes['switchboard.event'] === sid);
    // Nothing of the worker's yet: its batch is due in ten minutes.
    expect(receiver.spans.filter((s) => s.service === 'worker')).toEqual([]);

    expect(await worker.stop('SIGTERM')).toBe(0);
    const spans = receiver.spans.filter((s) => s.traceId === webhook!.traceId);
    expect(spans.map((s) => [s.service, s.name])).toEqual([
      ['web', 'webhook whatsapp'],
      ['worker', 'turn'],
      ['worker', 'send whatsapp'],
    ]);
    const [, turn, send] = spans;
    expect(turn!.parentSpanId).toBe(webhook!.spanId);
    expect(send!.parentSpanId).toBe(turn!.spanId);
  });
});
