// The sandbox simulator in a real browser (Debian's chromium) against a real sandbox gateway, queue and workers.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxRouter } from '../../../src/http/sandbox.js';
import {
  simulatorRouter,
  type SandboxUserLookup,
  type SimulatorDeps,
} from '../../../src/http/simulator/router.js';
import { SandboxRecorder } from '../../../channels/index.js';
import { Directory } from '../../../src/config/directory.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { botYaml } from '../../support/config.js';
import { SandboxOutbox } from '../../../src/store/sandbox-outbox.js';

const TOKEN_VALUE = 'tok_live_DO-NOT-SHOW-5f2a9c';

const SIM_BANK = botYaml(
  'sim-bank',
  `    flows:
      main:
        - say: "Welcome to Sim Bank."
        - ask:
            prompt: "Reply 1 for your balance or 2 for your last payment."
            save: choice
            keypad: true
            digits: 1
            pattern: "^[12]$"
        - say: "You chose option {{choice}}."
        - ask: { prompt: "Enter your four digit PIN.", save: pin, keypad: true, digits: 4, secret: true }
        - end: "Thank you. Goodbye."`,
);

/** A user lookup that knows one verified user; it even leaks a token value, which must never reach the page. */
const fakeUsers: SandboxUserLookup = {
  async describe(_botId, identity) {
    if (!identity.endsWith('+15551230001')) return { tier: 'anonymous', tokens: [] };
    const tokens = [{ component: 'bank-login', expiresAt: Date.now() + 3_600_000, token: TOKEN_VALUE }];
    return { tier: 'verified', name: 'Zhang San', tokens };
  },
};

interface SideServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The simulator's routers on their own loopback server, posting to the harness gateway's webhooks (until
 * the gateway mounts them itself, and so that a test can give it a fake user lookup).
 */
async function serveSimulator(
  h: Harness,
  deps: Partial<SimulatorDeps> = {},
  options: { ownWebhooks?: boolean } = {},
): Promise<SideServer> {
  const directory = new Directory(h.config, { authToken: h.env.SWITCHBOARD_SANDBOX_AUTH_TOKEN });
  const app = express();
  if (options.ownWebhooks) {
    // Webhooks on this same server (forwarded to the gateway as they are): the simulator posts to where it was reached.
    app.use('/webhooks', express.raw({ type: () => true }), async (req, res) => {
      const answer = await fetch(h.main!.url! + req.originalUrl, {
        method: 'POST',
        headers: {
          'content-type': req.get('content-type')!,
          'x-twilio-signature': req.get('x-twilio-signature')!,
        },
        body: req.body as Buffer,
      });
      res
        .status(answer.status)
        .type(answer.headers.get('content-type') ?? 'text/plain')
        .send(await answer.text());
    });
  }
  const selfUrl = options.ownWebhooks ? {} : { selfUrl: h.main!.url! };
  app.use(simulatorRouter({ directory: () => directory, ...selfUrl, ...deps }));
  app.use(sandboxRouter(new SandboxRecorder(new SandboxOutbox(h.redis, h.keys)), () => directory));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('sandbox simulator', () => {
  let h: Harness;
  let sim: SideServer;
  let bare: SideServer;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness({ bots: SIM_BANK, sandbox: true, label: 'simulator', logLevel: 'warn' });
    sim = await serveSimulator(h, { users: fakeUsers });
    bare = await serveSimulator(h);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.close();
    await bare?.close();
    await h?.close();
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1180, height: 880 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    expect(problems).toEqual([]);
    return page;
  }

  it('serves the page with a strict content security policy', async () => {
    const res = await fetch(`${sim.url}/simulator`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<script src="/simulator/app.js" defer></script>');
    expect((await fetch(`${sim.url}/simulator/app.js`)).headers.get('content-type')).toMatch(/javascript/);
  });

  it('chats on WhatsApp: the reply bubbles are what the workers sent, and the user panel shows no token value', async () => {
    const page = await open(`${sim.url}/simulator?bot=sim-bank&channel=whatsapp&from=%2B15551230001`);
    await page.fill('#message', 'hi');
    await page.press('#message', 'Enter');
    const prompt = page.locator('#thread .bubble.bot .text', { hasText: 'Reply 1 for your balance' });
    await prompt.waitFor({ timeout: 15_000 });
    expect(await prompt.textContent()).toBe('Reply 1 for your balance or 2 for your last payment.');

    await page.fill('#message', '1');
    await page.click('#send');
    await page
      .locator('#thread .bubble.bot .text', { hasText: 'Enter your four digit PIN.' })
      .waitFor({ timeout: 15_000 });
    const bubbles = await page
      .locator('#thread .bubble')
      .evaluateAll((nodes) =>
        nodes.map(
          (n) => `${n.classList.contains('me') ? 'me' : 'bot'}: ${n.querySelector('.text')?.textContent}`,
        ),
      );
    expect(bubbles).toEqual([
      'me: hi',
      'bot: Welcome to Sim Bank.',
      'bot: Reply 1 for your balance or 2 for your last payment.',
      'me: 1',
      'bot: You chose option 1.',
      'bot: Enter your four digit PIN.',
    ]);
    // Delivered ticks: the signed webhook was accepted by the gateway.
    expect(await page.locator('#thread .bubble.me .meta.ok').count()).toBe(2);

    // The same messages are in the sandbox outbox: the page shows what the send queue recorded.
    const outbox = (await (
      await fetch(`${sim.url}/sandbox/outbox?to=${encodeURIComponent('whatsapp:+15551230001')}`)
    ).json()) as { body: string; from: string }[];
    expect(outbox.map((m) => m.body)).toEqual(
      bubbles.filter((b) => b.startsWith('bot: ')).map((b) => b.slice(5)),
    );
    expect(outbox[0]!.from).toBe('whatsapp:+14155238886');

    await expect.poll(() => page.locator('#user-tier').textContent(), { timeout: 10_000 }).toBe('verified');
    expect(await page.locator('#user-name').textContent()).toBe('Zhang San');
    expect(await page.locator('#user-identity').textContent()).toBe('whatsapp:+15551230001');
    const token = page.locator('#tokens li[data-component="bank-login"]');
    expect(await token.locator('.component').textContent()).toBe('bank-login');
    expect(await token.locator('.expiry').textContent()).toMatch(/^expires in (59|60) min · /);
    expect(await page.content()).not.toContain(TOKEN_VALUE);

    await page.screenshot({ path: '/tmp/simulator-whatsapp.png' });
    await page.close();
  }, 60_000);

  it('keeps the thread across a reload, from the outbox: the secret answer as dots, nowhere in clear', async () => {
    // The gateway's own simulator: its user lookup reads the conversation store, its thread the outbox.
    const url = `${h.main!.url!}/simulator?bot=sim-bank&channel=whatsapp&from=%2B15551230010`;
    const page = await open(url);
    const send = async (text: string) => {
      await page.fill('#message', text);
      await page.press('#message', 'Enter');
    };
    const botSays = (text: string) =>
      page.locator('#thread .bubble.bot .text', { hasText: text }).waitFor({ timeout: 15_000 });
    await send('hi');
    await botSays('Reply 1 for your balance');
    await send('1');
    await botSays('Enter your four digit PIN.');
    // Waiting for a secret: the panel says so and the composer hides what is typed.
    const waiting = page.locator('#user-state li[data-state="awaiting-secret"]');
    await waiting.waitFor({ timeout: 10_000 });
    expect(await waiting.textContent()).toBe('Waiting for a secret answer: it is hidden.');
    expect(await page.locator('#message').getAttribute('type')).toBe('password');
    await send('4242');
    await botSays('Thank you. Goodbye.');
    const bubbles = () =>
      page
        .locator('#thread .bubble')
        .evaluateAll((nodes) =>
          nodes.map(
            (n) => `${n.classList.contains('me') ? 'me' : 'bot'}: ${n.querySelector('.text')?.textContent}`,
          ),
        );
    const thread = [
      'me: hi',
      'bot: Welcome to Sim Bank.',
      'bot: Reply 1 for your balance or 2 for your last payment.',
      'me: 1',
      'bot: You chose option 1.',
      'bot: Enter your four digit PIN.',
      'me: \u2022\u2022\u2022\u2022\u2022\u2022',
      'bot: Thank you. Goodbye.',
    ];
    expect(await bubbles()).toEqual(thread);
    await expect.poll(() => page.locator('#user-state li').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('#message').getAttribute('type')).toBe('text');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page
      .locator('#thread .bubble')
      .nth(thread.length - 1)
      .waitFor({ timeout: 10_000 });
    expect(await bubbles()).toEqual(thread);
    expect(await page.locator('#thread .bubble.me .meta.ok').count()).toBe(3);
    expect(await page.locator('#thread .bubble.me.secret').count()).toBe(1);

    // The outbox: only the replies by default (what `switchboard chat` reads), both sides with thread=1.
    const outbox = (query: string) =>
      fetch(`${h.main!.url!}/sandbox/outbox?to=${encodeURIComponent('whatsapp:+15551230010')}${query}`).then(
        (r) => r.json() as Promise<{ body: string; direction?: string; secret?: boolean; to: string }[]>,
      );
    expect((await outbox('')).map((m) => m.body)).toEqual(
      thread.filter((b) => b.startsWith('bot: ')).map((b) => b.slice(5)),
    );
    const both = await outbox('&thread=1');
    expect(both.map((m) => (m.direction === 'in' ? `me: ${m.secret ? '(secret)' : m.body}` : 'bot'))).toEqual(
      thread.map((b) => (b.startsWith('me: \u2022') ? 'me: (secret)' : b.startsWith('me: ') ? b : 'bot')),
    );
    expect(both[0]).toMatchObject({
      direction: 'in',
      to: 'whatsapp:+14155238886',
      from: 'whatsapp:+15551230010',
    });
    const kept = await h.redis.lrange(h.keys.sandboxOutbox('whatsapp:+15551230010'), 0, -1);
    expect(kept.join('\n')).not.toContain('4242');
    expect((await fetch(`${h.main!.url!}/sandbox/outbox?to=%2B1555&thread=yes`)).status).toBe(400);

    // The conversation's state as /sandbox/user tells it: states only, never a dialog variable.
    const user = `${h.main!.url!}/sandbox/user?bot=sim-bank&address=${encodeURIComponent('whatsapp:+15551230010')}`;
    expect(await json(await fetch(user))).toEqual({
      available: true,
      identity: 'whatsapp:+15551230010',
      tier: 'anonymous',
      tokens: [],
      conversation: { optedOut: false, lockouts: [], awaitingSecret: false },
    });
    expect((await fetch(`${user}&callSid=CA123`)).status).toBe(400);
    await page.close();
  }, 60_000);

  it('places a call: keypad presses go to the Gather action and the next prompt is the caption', async () => {
    const page = await open(`${sim.url}/simulator?bot=sim-bank&channel=sms&from=%2B15551230002`);
    await page.click('.dock [data-channel="voice"]');
    expect(await page.locator('#call-number').textContent()).toBe('+15005550007');
    await page.click('#dial');
    const current = page.locator('#captions .caption.current');
    await expect
      .poll(() => current.textContent(), { timeout: 15_000 })
      .toBe('Reply 1 for your balance or 2 for your last payment.');
    expect(await page.locator('#entry').textContent()).toBe('Enter 1 digit');

    await page.click('.key[data-key="1"]');
    await expect.poll(() => current.textContent(), { timeout: 15_000 }).toBe('Enter your four digit PIN.');
    expect(await page.locator('#entry').textContent()).toBe('Enter 4 digits');
    await page.screenshot({ path: '/tmp/simulator-call.png' });

    for (const key of ['4', '2', '4', '2']) await page.click(`.key[data-key="${key}"]`);
    await expect
      .poll(() => page.locator('#call-state').textContent(), { timeout: 15_000 })
      .toBe('Call ended');
    const captions = await page.locator('#captions .caption').allTextContents();
    expect(captions).toEqual([
      'Welcome to Sim Bank.',
      'Reply 1 for your balance or 2 for your last payment.',
      'You pressed 1',
      'You chose option 1.',
      'Enter your four digit PIN.',
      'You pressed 4242',
      'Thank you. Goodbye.',
      'The bot hung up.',
    ]);
    expect(await page.locator('#twiml').textContent()).toContain('<Hangup/>');
    expect(await page.locator('#user-identity').textContent()).toBe('voice:+15551230002');
    await page.close();
  }, 60_000);

  it('shows "unknown" when no user lookup is wired in', async () => {
    const page = await open(`${bare.url}/simulator?bot=sim-bank&channel=sms&from=%2B15551230003`);
    await expect.poll(() => page.locator('#user-note').textContent()).toMatch(/no identity store/);
    expect(await page.locator('#user-tier').textContent()).toBe('unknown');
    expect(await page.locator('#tokens').textContent()).toBe('unknown');

    // SMS works the same way: the bubble is the recorded reply to the bare number.
    await page.fill('#message', 'hello');
    await page.press('#message', 'Enter');
    await page
      .locator('#thread .bubble.bot .text', { hasText: 'Reply 1 for your balance' })
      .waitFor({ timeout: 15_000 });
    expect(await page.locator('#thread .receipt').allTextContents()).toEqual(['Delivered']);
    await page.screenshot({ path: '/tmp/simulator-sms.png' });
    await page.close();
  }, 30_000);

  it('describes users without token values, and says when it cannot', async () => {
    const known = await json(
      await fetch(
        `${sim.url}/sandbox/user?bot=sim-bank&address=${encodeURIComponent('whatsapp:+15551230001')}`,
      ),
    );
    expect(known).toMatchObject({ available: true, identity: 'whatsapp:+15551230001', tier: 'verified' });
    expect(JSON.stringify(known)).not.toContain(TOKEN_VALUE);
    expect(
      await json(
        await fetch(`${bare.url}/sandbox/user?bot=sim-bank&address=${encodeURIComponent('+15551230009')}`),
      ),
    ).toEqual({ available: false, identity: 'sms:+15551230009' });
    expect((await fetch(`${sim.url}/sandbox/user?bot=nobody&address=%2B15551230009`)).status).toBe(404);
    expect((await fetch(`${sim.url}/sandbox/user?bot=sim-bank&address=555`)).status).toBe(400);
  });

  it('signs with the sandbox token: a wrong token is refused by the real signature check', async () => {
    const forged = await serveSimulator(h, { authToken: 'not-the-sandbox-token' });
    try {
      const answer = await json(
        await postJson(`${forged.url}/sandbox/simulate/sms`, {
          bot: 'sim-bank',
          from: '+15551230004',
          text: 'hi',
        }),
      );
      expect(answer).toMatchObject({ status: 'refused', httpStatus: 403 });
      expect(String(answer.detail)).toContain('signature does not match');
    } finally {
      await forged.close();
    }
  });

  it('without selfUrl, posts the webhooks to the server it was reached on', async () => {
    const same = await serveSimulator(h, {}, { ownWebhooks: true });
    try {
      const sms = await json(
        await postJson(`${same.url}/sandbox/simulate/sms`, {
          bot: 'sim-bank',
          from: '+15551230008',
          text: 'hi',
        }),
      );
      expect(sms).toMatchObject({ status: 'accepted', httpStatus: 200 });
      const call = await json(
        await postJson(`${same.url}/sandbox/simulate/voice`, {
          action: 'start',
          bot: 'sim-bank',
          from: '+15551230008',
        }),
      );
      expect(call).toMatchObject({ status: 'answered', httpStatus: 200 });
      expect((call.twiml as { says: string[] }).says).toEqual([
        'Welcome to Sim Bank.',
        'Reply 1 for your balance or 2 for your last payment.',
      ]);
      expect((call.twiml as { gather: object }).gather).toMatchObject({
        numDigits: 1,
        input: ['dtmf'],
        action: 'https://switchboard.test/webhooks/voice/gather?turn=1',
      });
    } finally {
      await same.close();
    }
  });

  it('posts only to the gateway’s own voice URLs and validates input', async () => {
    const start = await json(
      await postJson(`${sim.url}/sandbox/simulate/voice`, {
        action: 'start',
        bot: 'sim-bank',
        from: '+15551230005',
      }),
    );
    expect(start.status).toBe('answered');
    const callSid = String(start.callSid);
    const elsewhere = await postJson(`${sim.url}/sandbox/simulate/voice`, {
      action: 'gather',
      bot: 'sim-bank',
      from: '+15551230005',
      callSid,
      url: 'http://169.254.169.254/latest/meta-data?turn=1',
      digits: '1',
    });
    expect(elsewhere.status).toBe(400);
    const hangup = await json(
      await postJson(`${sim.url}/sandbox/simulate/voice`, {
        action: 'hangup',
        bot: 'sim-bank',
        from: '+15551230005',
        callSid,
      }),
    );
    expect(hangup).toMatchObject({ status: 'ended', httpStatus: 204 });

    expect(
      (await postJson(`${sim.url}/sandbox/simulate/sms`, { bot: 'sim-bank', from: '555', text: 'x' })).status,
    ).toBe(400);
    expect(
      (
        await postJson(`${sim.url}/sandbox/simulate/fax`, {
          bot: 'sim-bank',
          from: '+15551230005',
          text: 'x',
        })
      ).status,
    ).toBe(404);
    expect(
      (await postJson(`${sim.url}/sandbox/simulate/sms`, { bot: 'nobody', from: '+15551230005', text: 'x' }))
        .status,
    ).toBe(404);
    const plain = await fetch(`${sim.url}/sandbox/simulate/sms`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(plain.status).toBe(415);
  });

  it('long-polls the outbox: after=N waits for the next message', async () => {
    const address = '+15551230006';
    const outbox = `${sim.url}/sandbox/outbox?to=${encodeURIComponent(address)}`;
    const started = Date.now();
    expect(await (await fetch(`${outbox}&after=0&waitMs=300`)).json()).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    const waiting = fetch(`${outbox}&after=0&waitMs=15000`).then(
      (r) => r.json() as Promise<{ body: string }[]>,
    );
    await postJson(`${sim.url}/sandbox/simulate/sms`, { bot: 'sim-bank', from: address, text: 'hello' });
    const first = await waiting;
    expect(first[0]?.body).toBe('Welcome to Sim Bank.');
    expect((await fetch(`${outbox}&after=x`)).status).toBe(400);
  }, 30_000);

  it('refuses outside sandbox mode', async () => {
    const production = new Directory(h.config, undefined);
    const app = express().use(simulatorRouter({ directory: () => production }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${url}/simulator`)).status).toBe(404);
      expect(
        (await postJson(`${url}/sandbox/simulate/sms`, { bot: 'sim-bank', from: '+15551230007', text: 'x' }))
          .status,
      ).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
