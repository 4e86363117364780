// Redis goes away and comes back: webhooks answer 503 fast, processes stay up, traffic resumes by itself.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '../../../src/main/local-redis.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { TwilioWebhookClient } from '../../support/webhooks.js';

const USER = '+12125551234';

type RunningRedis = Awaited<ReturnType<typeof startRedisServer>>;

let h: Harness | undefined;
const servers: RunningRedis[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const server of servers.splice(0)) await server.stop();
});

describe('Redis outage', () => {
  it('answers 503 within a second while Redis is down and recovers without a restart', async () => {
    // A private redis-server this test may stop, on a port it can start again on.
    const redis = await startRedisServer();
    servers.push(redis);
    h = await startHarness({ bots: ECHO_BOT, label: 'outage', redisUrl: redis.url, gateway: false });
    const port = await freePort();
    const serve = await h.spawn('serve', 'serve', { PORT: String(port) });
    const worker = await h.spawn('worker', 'worker');
    const twilio = new TwilioWebhookClient(`http://127.0.0.1:${port}`);

    expect((await twilio.sms(USER, 'before')).status).toBe(200);
    expect((await h.twilio.waitForMessages(USER, 1))[0]!.body).toBe('got before');

    await redis.stop();
    await serve.logs.waitForMessage('Redis connection error', (l) => l.connection === 'switchboard:web');

    const during = twilio.smsParams(USER, 'during');
    const sms = await twilio.post('/webhooks/sms', during);
    expect(sms).toMatchObject({
      status: 503,
      body: 'Service unavailable: the queue cannot be reached. Retry.',
    });
    expect(sms.elapsedMs).toBeLessThan(1000);
    const call = await twilio.call('CA0f1e2d3c4b5a69788796a5b4c3d2e1f0', USER);
    expect(call.status).toBe(503);
    expect(call.elapsedMs).toBeLessThan(1000);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', checks: { redis: false } });
    expect(serve.alive()).toBe(true);
    expect(worker.alive()).toBe(true);

    servers.push(await startRedisServer(redis.port));
    await serve.logs.waitForMessage('Redis connection restored', (l) => l.connection === 'switchboard:web');

    // Twilio retries the refused message; then the user writes again. Both are answered, in order.
    expect((await twilio.post('/webhooks/sms', during)).status).toBe(200);
    expect((await twilio.sms(USER, 'after')).status).toBe(200);
    const replies = await h.twilio.waitForMessages(USER, 3, 20_000);
    expect(replies.map((m) => m.body)).toEqual(['got before', 'got during', 'got after']);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(serve.alive() && worker.alive()).toBe(true);
  }, 60_000);
});
