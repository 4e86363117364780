// `choose` in the simulator (Debian's chromium) on `npm start`'s demo bank as shipped: the WhatsApp menu
// is three buttons and tapping one continues the flow (the page posts ButtonPayload, as Twilio would); a
// list picker's item posts ListId; SMS shows the numbered list as text; the page lists the demo accounts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServices, type DemoServices } from '../../../src/main/demo.js';
import { launchChromium } from '../../support/browser.js';
import { freePort, startHarness, type Harness } from '../../support/harness.js';
import { REPO_ROOT } from '../../support/processes.js';

const PROMPT = 'What would you like to do?';
const MENU = `${PROMPT}\n1. Your balance\n2. Your last payment\n3. Sign in by link (no password in the chat)`;
const BRANCH_WHATSAPP = '+15005550031';
const DELIVERY_WHATSAPP = '+15005550032';

/** A second bot beside the demo, with four options: a list picker on WhatsApp. */
const BRANCHES = `bots:
  branches:
    workspace: demo
    numbers: { sms: [], whatsapp: ['${BRANCH_WHATSAPP}'], voice: [] }
    flows:
      main:
        - choose:
            prompt: 'Which branch?'
            options:
              - { id: north, title: North, description: '12 High Street' }
              - { id: south, title: South }
              - { id: east, title: 'East of the river, by the old station' }
              - { id: west, title: West }
            save: branch
        - end: 'Branch {{branch}} it is.'
  delivery:
    workspace: demo
    numbers: { sms: [], whatsapp: ['${DELIVERY_WHATSAPP}'], voice: [] }
    flows:
      main:
        - choose:
            prompt: 'Deliver tomorrow?'
            options:
              - { id: yes, title: 'Yes, deliver it tomorrow morning' }
              - { id: no, title: 'No, keep it at the depot' }
            save: answer
        - end: 'You said {{answer}}.'
`;

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
      'zz-branches.yaml': BRANCHES,
    }),
    sandbox: true,
    loopbackPublicUrl: port,
    env: { ...demo.variables, DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef' },
    simulatorNotes: demo.notes,
    label: 'choose-simulator',
    logLevel: 'warn',
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await demo?.close();
});

async function open(query: string): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 880 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${publicUrl}/simulator?${query}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems, close: () => context.close() };
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
}

const botSays = (page: Page, text: string) =>
  page.locator('#thread .bubble.bot .text', { hasText: text }).last().waitFor({ timeout: 15_000 });

/** The thread as "who: text", with a bubble's buttons or list button after a " | ". */
const bubbles = (page: Page) =>
  page.locator('#thread .bubble').evaluateAll((nodes) =>
    nodes.map((n) => {
      const who = n.classList.contains('me') ? 'me' : 'bot';
      const buttons = [...n.querySelectorAll('.choice-button, .choice-open')].map((b) => b.textContent);
      return `${who}: ${n.querySelector('.text')?.textContent}${buttons.length ? ` | ${buttons.join(' | ')}` : ''}`;
    }),
  );

describe('choose in the simulator', () => {
  it('WhatsApp: the menu is three buttons; tapping one sends its payload and the flow goes on', async () => {
    const { page, problems, close } = await open('bot=demo-bank&channel=whatsapp&from=%2B15551239001');
    try {
      await send(page, 'hi');
      await botSays(page, PROMPT);
      const buttons = page.locator('#thread .bubble.bot .choice.buttons .choice-button');
      expect(await buttons.allTextContents()).toEqual([
        'Your balance',
        'Your last payment',
        'Sign in by link',
      ]);
      await buttons.nth(1).click();
      await botSays(page, 'What is your member number?');
      expect(await bubbles(page)).toEqual([
        'me: hi',
        'bot: Welcome to Demo Bank.',
        `bot: ${PROMPT} | Your balance | Your last payment | Sign in by link`,
        'me: Your last payment',
        'bot: What is your member number?',
      ]);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('WhatsApp: four options are a list picker; picking an item sends its ListId', async () => {
    const { page, problems, close } = await open('bot=branches&channel=whatsapp&from=%2B15551239002');
    try {
      await send(page, 'hi');
      await botSays(page, 'Which branch?');
      const list = page.locator('#thread .bubble.bot .choice.list');
      expect(await list.locator('.choice-open').textContent()).toBe('\u2630 Choose');
      expect(await list.locator('.choice-list').isHidden()).toBe(true);
      await list.locator('.choice-open').click();
      expect(await list.locator('.choice-item .choice-title').allTextContents()).toEqual([
        'North',
        'South',
        // Cut to WhatsApp's 24 characters: only its ListId, not the title it sends, can answer.
        'East of the river, by…',
        'West',
      ]);
      expect(await list.locator('.choice-item .choice-description').allTextContents()).toEqual([
        '12 High Street',
      ]);
      await list.locator('.choice-item', { hasText: 'East' }).click();
      await page.locator('#thread .bubble.me .text', { hasText: 'East of the river, by…' }).waitFor();
      await botSays(page, 'Branch east it is.');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('WhatsApp: a button whose title is cut answers by its payload alone', async () => {
    const { page, problems, close } = await open('bot=delivery&channel=whatsapp&from=%2B15551239005');
    try {
      await send(page, 'hi');
      await botSays(page, 'Deliver tomorrow?');
      const buttons = page.locator('#thread .bubble.bot .choice-button');
      expect(await buttons.allTextContents()).toEqual(['Yes, deliver it…', 'No, keep it at the…']);
      await buttons.first().click();
      await botSays(page, 'You said yes.');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('SMS: the menu is the numbered list as text, and the number answers', async () => {
    const { page, problems, close } = await open('bot=demo-bank&channel=sms&from=%2B15551239003');
    try {
      await send(page, 'hi');
      await botSays(page, 'Your last payment');
      expect(await page.locator('#thread .bubble.bot .text').allTextContents()).toEqual([
        'Welcome to Demo Bank.',
        MENU,
      ]);
      expect(await page.locator('#thread .choice').count()).toBe(0);
      await send(page, '2');
      await botSays(page, 'What is your member number?');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('the page lists the demo accounts, their member numbers and PINs', async () => {
    const { page, close } = await open('bot=demo-bank&channel=whatsapp&from=%2B15551239004');
    try {
      expect(await page.locator('#notes-card').isVisible()).toBe(true);
      expect(await page.locator('#notes li').allTextContents()).toEqual([
        'alice / wonderland: member number 1001, PIN 4321',
        'bob / builder: member number 1002, PIN 8765',
        '"Your balance" asks for the username and password in the chat (on a call, the member number and PIN).',
        '"Your last payment" asks for the member number and PIN.',
        '"Sign in by link" sends a link: sign in at the bank\'s page with the username and password.',
      ]);
    } finally {
      await close();
    }
  }, 60_000);
});
