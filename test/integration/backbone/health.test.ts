// /healthz, /readyz and /metrics: what a load balancer and Prometheus read.
import { afterEach, describe, expect, it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { eventually } from '../../support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health and metrics', () => {
  it('/healthz says the process is up', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'health' });
    const res = await fetch(`${h.main!.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks Redis and, where they run, the workers', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'health' });
    const both = await fetch(`${h.main!.url}/readyz`);
    expect(both.status).toBe(200);
    expect(await both.json()).toEqual({ status: 'ready', checks: { redis: true, workers: true } });

    const web = await h.startGateway({ web: true, workers: false });
    const webOnly = await fetch(`${web.url}/readyz`);
    expect(await webOnly.json()).toEqual({ status: 'ready', checks: { redis: true } });
  });

  it('/metrics serves Prometheus text with inbound, outbound, turn latency and queue depth', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'metrics' });
    await h.webhooks.sms('+12125551234', 'one');
    await h.webhooks.sms('+12125551234', 'two', {}, { signWith: 'wrong-token-0000000000' });
    await h.twilio.waitForMessages('+12125551234', 1);
    await h.main!.turns.handledCount(1);

    const sent = 'switchboard_outbound_messages_total{channel="sms",status="sent"} 1';
    // The send counter moves just after Twilio's answer, which no event marks: poll for it.
    const lines = await eventually(async () => {
      const res = await fetch(`${h!.main!.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const all = (await res.text()).split('\n');
      return all.includes(sent) ? all : undefined;
    }, sent);
    expect(lines).toContain('switchboard_inbound_messages_total{channel="sms",status="accepted"} 1');
    expect(lines).toContain('switchboard_inbound_messages_total{channel="sms",status="forbidden"} 1');
    expect(lines).toContain('switchboard_turn_seconds_count{channel="sms"} 1');
    expect(lines).toContain('# TYPE switchboard_turn_seconds histogram');
    expect(lines.some((l) => /^switchboard_queue_depth\{queue="conversations"\} \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^switchboard_queue_depth\{queue="sends"\} \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('switchboard_process_resident_memory_bytes '))).toBe(true);
  });
});
