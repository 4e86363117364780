// WhatsApp "balance" → a sign-in link; a link preview does not spend it; Chromium follows it, signs in at a
// real oidc-provider, the binding code is typed into the chat, and the balance comes with the provider's token.
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/harness.js';
import { ALICE, startTestProvider, type TestProvider } from '../../support/oidc-provider.js';
import { startDialogHarness, type DialogHarness } from '../dialog/helpers.js';
import { GatewayBrowser, TEXT, linkBot, linkIn, startBankApi, type BankApi } from './helpers.js';

let idp: TestProvider;
let api: BankApi;
let h: DialogHarness;
let browser: Browser;
let publicUrl: string;

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await startTestProvider({ redirectUris: [`${publicUrl}/oauth/callback`] });
  api = await startBankApi(idp);
  h = await startDialogHarness({
    label: 'sign-in-browser',
    allowHosts: ['127.0.0.1'],
    loopbackPublicUrl: port,
    bots: linkBot({ idp, api: api.url }),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await api?.close();
  await idp?.close();
});

describe('a sign-in link in a real browser', () => {
  it('WhatsApp: balance → a link; a preview does not spend it; Chromium signs in, the code is typed, the balance uses the provider token', async () => {
    const c = h.whatsapp();
    const [reply, ...more] = await c.send('balance');
    expect(more).toEqual([]);
    const link = linkIn(reply!);
    expect(reply).toBe(TEXT.link(link));
    expect(link).toMatch(new RegExp(`^${publicUrl}/s/[A-Za-z0-9_-]{22,}$`));

    // A link preview (WhatsApp's, a scanner's) fetches the page: it shows Continue and spends nothing.
    const preview = await new GatewayBrowser().preview(link);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain('>Continue</button>');
    expect(idp.calls.authorization).toBe(0);

    const page = await browser.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Continue' }).click();
    // The provider's own login page.
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.fill('input[name="username"]', ALICE.username);
    await page.fill('input[name="password"]', ALICE.password);
    const told = h.base.twilio.waitForMessages(c.address, 2);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${publicUrl}/oauth/callback`));
    expect(await page.locator('h1').textContent()).toBe("You're signed in");
    const shown = (await page.locator('.code').textContent())!;
    expect(shown).toMatch(/^\d{3} \d{3}$/);
    await page.close();

    // The conversation is told to type the code; until it is typed, no token was used.
    expect((await told).map((m) => m.body)).toEqual([reply, TEXT.typeCode]);
    expect(api.seen).toEqual([]);

    expect(await c.send(shown)).toEqual([TEXT.signedIn, TEXT.balance(ALICE.sub)]);
    const issued = idp.issuedAccessTokens();
    expect(issued).toHaveLength(1);
    expect(api.seen).toEqual(issued);
  });
});
