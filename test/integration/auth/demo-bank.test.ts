// The example bank bot as shipped (config/examples/demo-bank.yaml with `npm start`'s demo services: the
// demo bank and its OpenID provider) logs in on WhatsApp, SMS and voice, typed and by a sign-in link.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServices, type DemoServices } from '../../../src/main/demo.js';
import { manualClock } from '../../support/clock.js';
import { freePort } from '../../support/harness.js';
import { REPO_ROOT } from '../../support/processes.js';
import { twimlText } from '../../support/twiml.js';
import {
  gather,
  HANGUP,
  PUBLIC_URL,
  say,
  startDialogHarness,
  twilioYaml,
  twiml,
  type DialogHarness,
} from '../dialog/helpers.js';
import { GatewayBrowser, linkIn, TEXT as SIGN_IN } from '../sign-in/helpers.js';
import { tokenKey } from './helpers.js';

const WELCOME = 'Welcome to Demo Bank.';
const PROMPT = 'What would you like to do?';
/** The menu as a text channel shows it (on WhatsApp the buttons' content resource is sent instead). */
const MENU = `${PROMPT}\n1. Your balance\n2. Your last payment\n3. Sign in by link (no password in the chat)`;
/** The menu on a call. */
const SPOKEN = `${PROMPT} Press 1 for Your balance. Press 2 for Your last payment. Press 3 for Sign in by link.`;
/** The WhatsApp menu: the content SID of its buttons (created on first use), as the chat helper shows it. */
const BUTTONS = () => {
  const created = h.twilio.contents.find((c) =>
    Object.values(c.request.types as Record<string, { body?: string }>).some((t) => t.body === PROMPT),
  );
  return `[template ${created?.sid}]`;
};
const LINK = (link: string) => `Sign in with Demo Bank (no password in the chat): ${link}`;
const ALICE = { username: 'alice', password: 'wonderland' };
const BOB = { username: 'bob', password: 'builder' };
const USERNAME = 'What is your username?';
const PASSWORD = 'What is your password?';
const MEMBER = 'Enter your member number, then press pound.';
const PIN = 'Enter your four digit PIN.';
const NUMBERS = { sms: '+15005550006', whatsapp: '+14155238886', voice: '+15005550006' };

const clock = manualClock();
/** TwiML with the gateway's loopback public URL written as the dialog helpers' TwiML builders write it. */
const local = (xml: string) => xml.replaceAll(h.processEnv.PUBLIC_URL!, PUBLIC_URL);
let demo: DemoServices;
let h: DialogHarness;

beforeAll(async () => {
  // As `npm start` does: the demo services know the gateway's public URL (the provider's redirect URI).
  const port = await freePort();
  demo = await startDemoServices({ publicUrl: `http://127.0.0.1:${port}` });
  h = await startDialogHarness({
    files: (twilioUrl) => ({
      'demo-bank.yaml': readFileSync(join(REPO_ROOT, 'config/examples/demo-bank.yaml'), 'utf8'),
      'twilio.yaml': twilioYaml(twilioUrl),
    }),
    loopbackPublicUrl: port,
    clock,
    variables: { ...demo.variables, DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef' },
    label: 'auth-demo-bank',
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await demo?.close();
});

describe('demo bank', () => {
  it('WhatsApp: alice / wonderland, then the balance; asked again, served from the cached token', async () => {
    const c = h.whatsapp(undefined, NUMBERS.whatsapp);
    expect(await c.send('hi')).toEqual([WELCOME, BUTTONS()]);
    expect(await c.send('1')).toEqual([USERNAME]);
    expect(await c.send('alice')).toEqual([PASSWORD]);
    expect(await c.send('wonderland')).toEqual(['Your balance is 1,234.56 USD.', WELCOME, BUTTONS()]);
    const cached = tokenKey(h, { workspace: 'demo', userId: 'u-alice' }, 'bank-login');
    expect(await h.redis.exists(cached)).toBe(1);
    expect(await c.send('1')).toEqual(['Your balance is 1,234.56 USD.', WELCOME, BUTTONS()]);
  });

  it('SMS: a wrong password is asked again, then bob / builder gets his balance', async () => {
    const c = h.sms(undefined, NUMBERS.sms);
    expect(await c.send('hello')).toEqual([WELCOME, MENU]);
    expect(await c.send('1')).toEqual([USERNAME]);
    expect(await c.send('bob')).toEqual([PASSWORD]);
    expect(await c.send('wonderland')).toEqual([
      "Sorry, those details didn't match. Let's try again.",
      USERNAME,
    ]);
    expect(await c.send('bob')).toEqual([PASSWORD]);
    expect(await c.send('builder')).toEqual(['Your balance is 87.10 EUR.', WELCOME, MENU]);
  });

  it('voice: member 1001 and PIN 4321 on the keypad, then the last payment and goodbye', async () => {
    const c = h.call(undefined, NUMBERS.voice);
    expect(local(await c.start())).toBe(twiml(say(WELCOME), gather(1, SPOKEN, { keypad: false, digits: 1 })));
    expect(local(await c.press('2'))).toBe(twiml(gather(2, MEMBER, { keypad: true })));
    expect(local(await c.press('1001'))).toBe(twiml(gather(3, PIN, { keypad: true, digits: 4 })));
    expect(await c.press('4321')).toBe(
      twiml(say('Your last payment was 42.00 USD to City Power.'), say('Goodbye.'), HANGUP),
    );
  });
});

describe('demo bank: Sign in with Demo Bank', () => {
  const publicUrl = () => h.processEnv.PUBLIC_URL!;

  it('WhatsApp: 3 sends a link; alice signs in at the demo provider, types the code, and sees her balance', async () => {
    const c = h.whatsapp(undefined, NUMBERS.whatsapp);
    expect(await c.send('hi')).toEqual([WELCOME, BUTTONS()]);
    const [reply] = await c.send('3');
    const link = linkIn(reply!);
    expect(reply).toBe(LINK(link));
    expect(link.startsWith(`${publicUrl()}/s/`)).toBe(true);

    const phone = new GatewayBrowser();
    // A link preview fetches the page: it shows Continue and does not spend the link.
    const preview = await phone.preview(link);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain('Continue');
    // The component's displayName names who the user signs in to.
    expect(preview.html).toContain('<h1>Sign in to Demo Bank</h1>');
    const done = await phone.signIn(link, ALICE);
    expect(done.status).toBe(200);
    expect(done.code).toMatch(/^\d{6}$/);
    // The conversation is told once the browser side finished (after the menu and the link).
    expect((await h.twilio.waitForMessages(c.address, 4))[3]!.body).toBe(SIGN_IN.typeCode);

    expect(await c.send(done.code!)).toEqual([
      SIGN_IN.signedIn,
      'Your balance is 1,234.56 USD.',
      WELCOME,
      BUTTONS(),
    ]);
    // The provider names alice by the bank's user id: the link's token is u-alice's, as bank-login's would be.
    const linked = tokenKey(h, { workspace: 'demo', userId: 'u-alice' }, 'bank-link');
    expect(await h.redis.exists(linked)).toBe(1);
    // Asked again: the cached token, no new link.
    expect(await c.send('3')).toEqual(['Your balance is 1,234.56 USD.', WELCOME, BUTTONS()]);
  });

  it('SMS: bob signs in by link, then logs in typed too, and stays one user with both tokens', async () => {
    const bob = (component: string) => tokenKey(h, { workspace: 'demo', userId: 'u-bob' }, component);
    // Tokens are the user's, not the conversation's: forget the one bob's typed login above left.
    await h.redis.del(bob('bank-login'));
    const c = h.sms(undefined, NUMBERS.sms);
    expect(await c.send('hello')).toEqual([WELCOME, MENU]);
    const [reply] = await c.send('3');
    const done = await new GatewayBrowser().signIn(linkIn(reply!), BOB);
    expect((await h.twilio.waitForMessages(c.address, 4))[3]!.body).toBe(SIGN_IN.typeCode);
    expect(await c.send(done.code!)).toEqual([SIGN_IN.signedIn, 'Your balance is 87.10 EUR.', WELCOME, MENU]);
    expect(await c.send('1')).toEqual([USERNAME]);
    expect(await c.send('bob')).toEqual([PASSWORD]);
    expect(await c.send('builder')).toEqual(['Your balance is 87.10 EUR.', WELCOME, MENU]);
    expect(await h.redis.exists(bob('bank-link'), bob('bank-login'))).toBe(2);
  });

  it('voice: 3 texts the link from the SMS number and holds; once signed in, the call says the balance', async () => {
    const call = h.call(undefined, NUMBERS.voice);
    expect(local(await call.start())).toBe(
      twiml(say(WELCOME), gather(1, SPOKEN, { keypad: false, digits: 1 })),
    );
    const holding = await call.press('3');
    expect(twimlText(holding, 'Say')).toBe(SIGN_IN.texted);
    const [texted] = await h.twilio.waitForMessages(call.from, 1);
    expect(texted!.from).toBe(NUMBERS.sms);
    const link = linkIn(texted!.body!);
    expect(texted!.body).toBe(LINK(link));

    const done = await new GatewayBrowser().signIn(link, ALICE);
    expect(twimlText(await call.press(''), 'Say')).toBe(SIGN_IN.enterCode);
    const answer = await call.press(done.code!);
    expect(answer).toContain(say(SIGN_IN.signedIn));
    expect(answer).toContain(say('Your balance is 1,234.56 USD.'));
    expect(answer).toContain(SPOKEN);
  });

  it('voice: a caller who does not sign in within two minutes keys the member number and PIN instead', async () => {
    const call = h.call(undefined, NUMBERS.voice);
    await call.start();
    await call.press('3');
    await h.twilio.waitForMessages(call.from, 1);
    clock.advance(121_000);
    const over = await call.press('');
    expect(over).toContain(say(SIGN_IN.timedOut));
    expect(over).toContain(say("Let's use your member number and PIN instead."));
    expect(over).toContain(MEMBER);
    expect(twimlText(await call.press('1001'), 'Say')).toBe(PIN);
  });
});
