// A newcomer's first minute with `npm start`'s demo bank in the simulator (Debian's chromium): WhatsApp,
// option 3, the link in the chat, Continue, alice at "Sign in with Demo Bank", the code back in the chat,
// the balance. The example file as shipped, `npm start`'s demo services, a real sandbox gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServices, type DemoServices } from '../../../src/main/demo.js';
import { SIGN_IN_TEXT } from '../../../src/http/sign-in-pages.js';
import { freePort, startHarness, type Harness } from '../../support/harness.js';
import { REPO_ROOT } from '../../support/processes.js';
import { scanRedis } from '../../support/secret-scan.js';
import { TEXT as SIGN_IN } from '../sign-in/helpers.js';

/** The menu's prompt: on WhatsApp its options are buttons under it. */
const MENU = 'What would you like to do?';

let demo: DemoServices;
let h: Harness;
let browser: Browser;
let publicUrl: string;

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  demo = await startDemoServices({ publicUrl });
  h = await startHarness({
    files: () => ({
      'demo-bank.yaml': readFileSync(join(REPO_ROOT, 'config/examples/demo-bank.yaml'), 'utf8'),
    }),
    sandbox: true,
    loopbackPublicUrl: port,
    env: { ...demo.variables, DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef' },
    label: 'simulator-demo-bank',
    logLevel: 'warn',
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await demo?.close();
});

describe('the demo bank in the simulator', () => {
  it('WhatsApp: 3, tap the link, Continue, alice / wonderland, type the code, and the balance is there', async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 880 } });
    try {
      const chat = await context.newPage();
      const problems: string[] = [];
      chat.on('pageerror', (error) => problems.push(error.message));
      await chat.goto(`${publicUrl}/simulator?bot=demo-bank&channel=whatsapp&from=%2B15551234567`);
      await chat.waitForSelector('body[data-ready="true"]');
      const send = async (text: string) => {
        await chat.fill('#message', text);
        await chat.press('#message', 'Enter');
      };
      const botSays = (text: string) =>
        chat.locator('#thread .bubble.bot .text', { hasText: text }).last().waitFor({ timeout: 15_000 });
      await send('hi');
      await botSays(MENU);
      await send('3');

      // The link in the chat is a link: an <a href> to the gateway's /s/…, opening a tab of its own.
      const link = chat.locator('#thread .bubble.bot .text a.link');
      await link.waitFor({ timeout: 15_000 });
      const href = await link.getAttribute('href');
      expect(href).toMatch(new RegExp(`^${publicUrl.replace(/[.]/g, '\\.')}/s/[A-Za-z0-9_-]{22,}$`));
      expect(await link.getAttribute('target')).toBe('_blank');
      expect(await link.locator('..').textContent()).toBe(
        `Sign in with Demo Bank (no password in the chat): ${href}`,
      );

      const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await tab.waitForLoadState();
      expect(tab.url()).toBe(href);
      expect(await tab.locator('h1').textContent()).toBe(SIGN_IN_TEXT.continueTitle('Demo Bank'));
      await tab.getByRole('button', { name: SIGN_IN_TEXT.continueButton }).click();

      // The demo provider's own page, on its own port: the password is typed there, not in the chat.
      await tab.waitForSelector('input[name="password"]');
      expect(tab.url().startsWith(`${demo.variables.DEMO_IDP_ISSUER}/interaction/`)).toBe(true);
      expect(await tab.locator('h1').textContent()).toBe('Sign in to Demo Bank');
      expect(await tab.locator('body').textContent()).toContain(
        'Demo accounts: alice / wonderland, bob / builder.',
      );
      await tab.fill('input[name="username"]', 'alice');
      await tab.fill('input[name="password"]', 'wonderland');
      await Promise.all([
        tab.waitForURL(`${publicUrl}/oauth/callback?**`),
        tab.click('button[type="submit"]'),
      ]);
      expect(await tab.locator('h1').textContent()).toBe("You're signed in");
      const code = (await tab.locator('.code').textContent())!.replace(/\s/g, '');
      expect(code).toMatch(/^\d{6}$/);

      await chat.bringToFront();
      await botSays(SIGN_IN.typeCode);
      const awaitingCode = chat.locator('#user-state li[data-state="signing-in"]', {
        hasText: 'waiting for the code',
      });
      await awaitingCode.waitFor({ timeout: 15_000 });
      expect(await awaitingCode.textContent()).toBe(
        'Signing in with bank-link: signed in on the page, waiting for the code.',
      );
      expect(await chat.locator('#message').getAttribute('type')).toBe('password');
      await send(code);
      await botSays('Your balance is 1,234.56 USD.');
      await chat.locator('#thread .bubble.bot .text', { hasText: MENU }).nth(1).waitFor({ timeout: 15_000 });
      const bubbles = await chat
        .locator('#thread .bubble')
        .evaluateAll((nodes) =>
          nodes.map(
            (n) => `${n.classList.contains('me') ? 'me' : 'bot'}: ${n.querySelector('.text')?.textContent}`,
          ),
        );
      expect(bubbles).toEqual([
        'me: hi',
        'bot: Welcome to Demo Bank.',
        `bot: ${MENU}`,
        'me: 3',
        `bot: Sign in with Demo Bank (no password in the chat): ${href}`,
        `bot: ${SIGN_IN.typeCode}`,
        // The binding code is a secret answer: hidden as it is typed and kept as dots.
        'me: \u2022\u2022\u2022\u2022\u2022\u2022',
        `bot: ${SIGN_IN.signedIn}`,
        'bot: Your balance is 1,234.56 USD.',
        'bot: Welcome to Demo Bank.',
        `bot: ${MENU}`,
      ]);
      // The user panel: verified, with the link's token (its expiries, never its value).
      await expect.poll(() => chat.locator('#user-tier').textContent(), { timeout: 10_000 }).toBe('verified');
      const token = chat.locator('#tokens li[data-component="bank-link"]');
      await token.waitFor({ timeout: 10_000 });
      expect(await token.locator('.component').textContent()).toBe('bank-link');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('the user panel shows where the conversation stands', () => {
  async function openChat(from: string) {
    const context = await browser.newContext({ viewport: { width: 1180, height: 880 } });
    const chat = await context.newPage();
    const problems: string[] = [];
    chat.on('pageerror', (error) => problems.push(error.message));
    await chat.goto(`${publicUrl}/simulator?bot=demo-bank&channel=whatsapp&from=${encodeURIComponent(from)}`);
    await chat.waitForSelector('body[data-ready="true"]');
    const send = async (text: string) => {
      await chat.fill('#message', text);
      await chat.press('#message', 'Enter');
    };
    const botSays = (text: string, nth = 0) =>
      chat.locator('#thread .bubble.bot .text', { hasText: text }).nth(nth).waitFor({ timeout: 15_000 });
    const states = async () => chat.locator('#user-state li').allTextContents();
    const stateIs = (kind: string) =>
      chat.locator(`#user-state li[data-state="${kind}"]`).waitFor({ timeout: 15_000 });
    return { context, chat, problems, send, botSays, states, stateIs };
  }

  it('signing in after asking for a link, opted out after STOP and back after START', async () => {
    const { context, problems, send, botSays, states, stateIs } = await openChat('+15551234570');
    try {
      await send('hi');
      await botSays(MENU);
      await send('3');
      await botSays('Sign in with Demo Bank (no password in the chat): ');
      await stateIs('signing-in');
      const [line] = await states();
      expect(line).toMatch(/^Signing in with bank-link: the link expires in (9|10) min · .+\.$/);

      await send('STOP');
      await stateIs('opted-out');
      expect(await states()).toContain('Opted out: only HELP is answered until you reply START.');
      await send('START');
      await expect
        .poll(async () => (await states()).some((s) => s.startsWith('Opted out')), { timeout: 15_000 })
        .toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('locked out of the login, with the minutes left, after three wrong passwords', async () => {
    const { context, chat, problems, send, botSays, states, stateIs } = await openChat('+15551234571');
    try {
      await send('hi');
      await botSays(MENU);
      await send('1');
      for (let attempt = 0; attempt < 3; attempt++) {
        await botSays('What is your username?', attempt);
        await send('bob');
        await botSays('What is your password?', attempt);
        // A password prompt: the composer hides it, and the thread keeps it as dots.
        await stateIs('awaiting-secret');
        expect(await chat.locator('#message').getAttribute('type')).toBe('password');
        await send('not-the-password');
        if (attempt < 2) await botSays("Sorry, those details didn't match. Let's try again.", attempt);
      }
      await botSays('Too many failed attempts. Please try again in 15 minutes.');
      await stateIs('locked-out');
      expect(await states()).toContain('Locked out of bank-login: 15 minutes left.');
      expect(await chat.content()).not.toContain('not-the-password');
      // Nor in Redis: the simulator kept the answers in the thread without their text.
      expect((await scanRedis(h.redis, h.prefix, ['not-the-password'])).findings).toEqual([]);
      expect(await chat.locator('#thread .bubble.me.secret').count()).toBe(3);
      await chat.screenshot({ path: '/tmp/simulator-locked-out.png' });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
