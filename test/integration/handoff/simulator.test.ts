// The simulator and a handoff, in a real browser against a sandbox gateway: the badge shows while a person has
// the conversation, the agent's reply arrives as a bubble, and "Give back to the bot" brings the bot back.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../support/browser.js';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';

const DESK = botYaml(
  'desk',
  `    flows:
      main:
        - ask: { prompt: "Reply AGENT for a person.", save: first }
        - handoff: {}
        - ask: { prompt: "The bot is back. Anything else?", save: more }
        - end: "Bye."`,
);

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({ bots: DESK, sandbox: true, label: 'handoff-sim', logLevel: 'warn' });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(`${h.main!.url!}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function botSays(page: Page, text: string): Promise<void> {
  await page.locator('#thread .bubble.bot .text', { hasText: text }).waitFor({ timeout: 15_000 });
}

describe('the simulator during a handoff', () => {
  it('shows the badge, sends the agent’s reply and gives the conversation back', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.main!.url!}/simulator?bot=desk&channel=sms&from=%2B15551230077`);
    await page.fill('#message', 'hi');
    await page.press('#message', 'Enter');
    await botSays(page, 'Reply AGENT for a person.');
    await page.fill('#message', 'AGENT');
    await page.press('#message', 'Enter');
    await botSays(page, 'A person will reply here soon.');
    const badge = page.locator('#user-state [data-state="handoff"]');
    await badge.waitFor({ timeout: 15_000 });
    expect(await badge.evaluate((li) => li.firstChild?.textContent)).toBe(
      'Handed off to a person: the bot does not answer. ',
    );

    await page.fill('#agent-text', 'Hi, Sam here.');
    await page.click('#agent-send');
    await botSays(page, 'Hi, Sam here.');
    await page.locator('#agent-resume').click();
    await botSays(page, 'The bot is back. Anything else?');
    await badge.waitFor({ state: 'detached', timeout: 15_000 });
    await page.close();
  });

  it('POST /sandbox/agent refuses what it cannot do with a 4xx', async () => {
    const base = { bot: 'desk', address: 'sms:+15551230078' };
    expect((await postJson('/sandbox/agent', { ...base, action: 'resume' })).status).toBe(409);
    expect((await postJson('/sandbox/agent', { ...base, action: 'message' })).status).toBe(400);
    expect((await postJson('/sandbox/agent', { ...base, action: 'shout' })).status).toBe(400);
    expect(
      (await postJson('/sandbox/agent', { ...base, address: 'voice:+15551230078', action: 'resume' })).status,
    ).toBe(400);
    expect((await postJson('/sandbox/agent', { ...base, bot: 'nobody', action: 'resume' })).status).toBe(404);
  });
});
