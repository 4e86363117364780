// METRICS_PORT: /metrics on a port of its own (loopback unless METRICS_HOST says otherwise), and no longer
// on the port webhooks come to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { freePort, startHarness, type Harness } from '../../support/harness.js';
import { newSid } from '../../support/webhooks.js';

let h: Harness;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  h = await startHarness({
    bots: botYaml('plain', `    flows:\n      main:\n        - end: "Hello."`),
    label: 'metrics-port',
    env: { METRICS_PORT: String(metricsPort) },
    gateway: { web: true, workers: true },
  });
});

afterAll(async () => {
  await h?.close();
});

describe('METRICS_PORT', () => {
  it('serves /metrics on 127.0.0.1:METRICS_PORT, with the turns counted', async () => {
    const sid = newSid();
    expect((await h.webhooks.sms('+12125550199', 'hi', { MessageSid: sid })).status).toBe(200);
    await h.handled(sid);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(
      /^switchboard_inbound_messages_total\{channel="sms",status="accepted"\} 1$/m,
    );
    const other = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect([other.status, await other.text()]).toEqual([404, 'Only GET /metrics is served on this port.']);
  });

  it('takes /metrics off the gateway port', async () => {
    const res = await fetch(`${h.main!.url}/metrics`);
    expect([res.status, await res.text()]).toEqual([404, 'No route for GET /metrics.']);
    expect((await fetch(`${h.main!.url}/healthz`)).status).toBe(200);
  });

  it('is in the start-up line', () => {
    const [started] = h.main!.logs.find('switchboard started');
    expect(started).toMatchObject({ metricsPort, metricsHost: '127.0.0.1' });
  });
});
