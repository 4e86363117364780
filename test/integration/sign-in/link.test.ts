// Sign-in links through the real gateway, queue and workers and a real oidc-provider: reused, expired and
// tampered links and callbacks, a forwarded link, a call that holds for the sign-in, and no secret in clear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_TEXT } from '../../../src/http/sign-in-pages.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { manualClock } from '../../support/clock.js';
import { freePort } from '../../support/harness.js';
import {
  ALICE,
  BOB,
  signInWithoutBrowser,
  startTestProvider,
  type TestProvider,
} from '../../support/oidc-provider.js';
import { scanLines, scanRedis, scanText } from '../../support/secret-scan.js';
import { twimlText } from '../../support/twiml.js';
import { startDialogHarness, type DialogHarness, type TextChat } from '../dialog/helpers.js';
import { GatewayBrowser, TEXT, linkBot, linkIn, startBankApi, type BankApi } from './helpers.js';

const clock = manualClock();
let idp: TestProvider;
let api: BankApi;
let receiver: FakeOperatorApi;
let h: DialogHarness;
/** Every secret the tests saw pass: the scan at the end looks for each. */
const secrets: string[] = [];
/** Every TwiML answer of the calls. */
const twiml: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  idp = await startTestProvider({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] });
  api = await startBankApi(idp);
  // Operator events go to a receiver that keeps failing, so their jobs stay in Redis for the scan.
  receiver = await startFakeOperatorApi({
    'POST /events': (_req, res) => sendJson(res, 500, { error: 'not now' }),
  });
  h = await startDialogHarness({
    label: 'sign-in-link',
    allowHosts: ['127.0.0.1'],
    loopbackPublicUrl: port,
    clock,
    variables: { LOG_LEVEL: 'debug' },
    // Shorter than a link's life: the expired link's conversation is still there to send a new one.
    bots: linkBot({ idp, api: api.url, sessionTimeout: 300 }),
    adjust: (config) => {
      config.workspaces.test!.events = { url: `${receiver.url}/events`, secret: 'events-secret-0123456789' };
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await receiver?.close();
  await api?.close();
  await idp?.close();
});

/** Asks for the balance: the reply is the link; it is kept for the scan. */
async function askForLink(c: TextChat): Promise<string> {
  const [reply] = await c.send('balance');
  const link = linkIn(reply!);
  secrets.push(link.slice(link.lastIndexOf('/') + 1));
  return link;
}

/** The message the conversation gets once the browser side finished (the signin event's turn). */
async function nextMessage(c: TextChat, count: number): Promise<string | undefined> {
  const all = await h.base.twilio.waitForMessages(c.address, count);
  return all[count - 1]?.body;
}

const pageTitle = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1]?.replace(/&#39;/g, "'");

describe('a sign-in link', () => {
  it('works once: a second Continue, and the callback replayed, get clear pages and no token', async () => {
    const c = h.whatsapp();
    const link = await askForLink(c);
    const phone = new GatewayBrowser();
    const done = await phone.signIn(link, ALICE);
    expect(pageTitle(done.html)).toBe("You're signed in");
    secrets.push(done.code!);
    expect(await nextMessage(c, 2)).toBe(TEXT.typeCode);
    expect(await c.send(done.code!)).toEqual([TEXT.signedIn, TEXT.balance(ALICE.sub)]);
    const tokens = idp.calls.token;

    // The operator's log tells the story without a code, a link or a token (the scan at the end checks).
    const told = h.logs.lines.filter(
      (l) =>
        String(l.message).startsWith('sign-in ') &&
        l.conversation === h.base.conversation('bank', c.identity),
    );
    expect(told.map((l) => [l.message, l.component, l.outcome])).toEqual([
      ['sign-in link sent', 'bank-oauth', 'started'],
      ['sign-in page', 'bank-oauth', expect.any(String)],
      ['sign-in callback', 'bank-oauth', expect.any(String)],
      ['sign-in completed', 'bank-oauth', 'completed'],
    ]);

    const again = await fetch(link, { method: 'POST', redirect: 'manual' });
    expect(again.status).toBe(410);
    expect(pageTitle(await again.text())).toBe(SIGN_IN_TEXT.usedTitle);
    expect(idp.calls.token).toBe(tokens);
  });

  it('after it expired: the page says so, and the conversation sends a new link when the user writes', async () => {
    const c = h.whatsapp();
    const link = await askForLink(c);
    clock.advance(601_000);
    const page = await new GatewayBrowser().preview(link);
    expect(page.status).toBe(410);
    expect(pageTitle(page.html)).toBe(SIGN_IN_TEXT.expiredTitle);
    const [expired, fresh] = await c.send('hello?');
    expect(expired).toBe('That sign-in link has expired. Here is a new one.');
    expect(linkIn(fresh!)).not.toBe(link);
  });

  it('a tampered state and a callback whose code was already exchanged get clear pages and no token', async () => {
    const c = h.whatsapp();
    const link = await askForLink(c);
    // Walk to the provider and back, but keep the callback to play with it.
    const tapped = await fetch(link, { method: 'POST', redirect: 'manual' });
    const cookie = tapped.headers.getSetCookie()[0]!.split(';')[0]!;
    const callback = new URL(await signInWithoutBrowser(tapped.headers.get('location')!, BOB));
    secrets.push(callback.searchParams.get('code')!);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const bad = await fetch(tampered, { headers: { cookie }, redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(pageTitle(await bad.text())).toBe(SIGN_IN_TEXT.badCallbackTitle);

    const good = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
    expect(good.status).toBe(200);
    const replay = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
    expect(replay.status).toBe(410);
    expect(pageTitle(await replay.text())).toBe(SIGN_IN_TEXT.finishedTitle);
    // The conversation got exactly one "type the code" and nothing was called with a token.
    expect(await nextMessage(c, 2)).toBe(TEXT.typeCode);
    expect(api.seen.filter((t) => idp.issuedAccessTokens().at(-1) === t)).toEqual([]);
  });

  it('forwarded: person B finishes the sign-in A started; without the code A types, A gets no token', async () => {
    const a = h.whatsapp();
    const link = await askForLink(a);
    const before = api.seen.length;
    // A forwards the link; B (another phone) signs in with their own account.
    const b = await new GatewayBrowser().signIn(link, BOB);
    expect(b.code).toMatch(/^\d{6}$/);
    secrets.push(b.code!);
    expect(await nextMessage(a, 2)).toBe(TEXT.typeCode);
    // A does not know the code: a guess and a question get nothing signed in.
    const guess = b.code === '000000' ? '111111' : '000000';
    expect(await a.send(guess)).toEqual([TEXT.wrongCode(2)]);
    expect(await a.send('balance')).toEqual([TEXT.typeCode]);
    expect(api.seen.length).toBe(before);
    // A is still nobody here: no user was verified, so no token is cached for this conversation.
    expect(await a.send('who am i')).toEqual(["I don't know you yet.", TEXT.typeCode]);
  });

  it('a binding code typed into another conversation signs nobody in there', async () => {
    const a = h.whatsapp();
    const other = h.sms();
    const link = await askForLink(a);
    await askForLink(other);
    const done = await new GatewayBrowser().signIn(link, ALICE);
    await nextMessage(a, 2);
    const before = api.seen.length;
    expect(await other.send(done.code!)).toEqual([
      'Open the link I sent to sign in; it works for 10 minutes. Reply MENU to start over.',
    ]);
    expect(api.seen.length).toBe(before);
    // The code still works where it belongs.
    expect(await a.send(done.code!)).toEqual([TEXT.signedIn, TEXT.balance(ALICE.sub)]);
  });
});

describe('a sign-in on a call', () => {
  it('texts the link to the caller, holds, and carries on with the answer once the caller signed in', async () => {
    const call = h.call();
    const first = await call.start();
    twiml.push(first);
    expect(twimlText(first, 'Say')).toBe(TEXT.texted);
    const [texted] = await h.base.twilio.waitForMessages(call.from, 1);
    expect(texted!.from).toBe(h.config.bots.bank!.numbers.sms[0]);
    const link = linkIn(texted!.body!);
    expect(texted!.body).toBe(TEXT.link(link));
    secrets.push(link.slice(link.lastIndexOf('/') + 1));

    // The Gather timed out: the call holds again, silently.
    const held = await call.press('');
    twiml.push(held);
    expect(held).toContain('<Gather');
    expect(twimlText(held, 'Say')).toBeUndefined();

    const done = await new GatewayBrowser().signIn(link, ALICE);
    secrets.push(done.code!);
    const ask = await call.press('');
    twiml.push(ask);
    expect(twimlText(ask, 'Say')).toBe(TEXT.enterCode);
    const answer = await call.press(done.code!);
    twiml.push(answer);
    expect(answer).toContain(`<Say voice="Polly.Joanna" language="en-US">${TEXT.signedIn}</Say>`);
    expect(answer).toContain(TEXT.balance(ALICE.sub));
    expect(answer).toContain('<Hangup/>');
  });

  it('a caller who never signs in falls back to the configured flow after the limit', async () => {
    const call = h.call();
    twiml.push(await call.start());
    await h.base.twilio.waitForMessages(call.from, 1);
    clock.advance(61_000);
    const over = await call.press('');
    twiml.push(over);
    expect(over).toContain(TEXT.timedOut);
    expect(over).toContain(TEXT.fallback);
  });
});

describe('secrets of a sign-in', () => {
  it('no access or refresh token, authorization code, link code or binding code is in clear in Redis, the log or TwiML', async () => {
    const all = [...secrets, ...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()];
    expect(all.length).toBeGreaterThan(10);
    const { findings, types } = await scanRedis(h.base.redis, h.prefix, all);
    expect([...types.keys()]).toEqual(expect.arrayContaining(['hash', 'string', 'list', 'zset']));
    expect(findings).toEqual([]);
    expect(scanLines('log', h.logs.lines, all)).toEqual([]);
    expect(twiml.flatMap((x, i) => scanText(`twiml #${i}`, x, all))).toEqual([]);
  });
});
