// Tokens from a sign-in link at a real oidc-provider: refreshed when they expire and on a 401, a rotated
// refresh token used next, a refused refresh that sends a new link, LOGOUT revoking at the provider, and
// the provider calls a turn makes with and without a cached token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../support/clock.js';
import { freePort } from '../../support/harness.js';
import { ALICE, BOB, startTestProvider, type TestProvider } from '../../support/oidc-provider.js';
import { startDialogHarness, type DialogHarness, type TextChat } from '../dialog/helpers.js';
import { GatewayBrowser, TEXT, linkBot, linkIn, startBankApi, type BankApi } from './helpers.js';

const clock = manualClock();
let idp: TestProvider;
let api: BankApi;
let h: DialogHarness;

/** The provider's access tokens live this long (seconds); the gateway's clock is moved past it. */
const ACCESS_TTL = 300;

beforeAll(async () => {
  const port = await freePort();
  idp = await startTestProvider({
    redirectUris: [`http://127.0.0.1:${port}/oauth/callback`],
    accessTokenTtl: ACCESS_TTL,
  });
  api = await startBankApi(idp);
  h = await startDialogHarness({
    label: 'sign-in-refresh',
    allowHosts: ['127.0.0.1'],
    loopbackPublicUrl: port,
    clock,
    // Shorter than a link's life: a conversation waiting for a sign-in must outlive it.
    bots: linkBot({ idp, api: api.url, binding: false, sessionTimeout: 300 }),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await api?.close();
  await idp?.close();
});

/** Signs the conversation in by link (no binding code): the balance comes with the signin event's turn. */
async function signIn(c: TextChat, as: { username: string; password: string; sub: string }) {
  const [reply] = await c.send('balance');
  await new GatewayBrowser().signIn(linkIn(reply!), as);
  const messages = await h.base.twilio.waitForMessages(c.address, 3);
  expect(messages.slice(1).map((m) => m.body)).toEqual([TEXT.signedIn, TEXT.balance(as.sub)]);
}

/** The provider's calls a step made, by route (the ones that are not zero). */
async function providerCalls(step: () => Promise<unknown>): Promise<Record<string, number>> {
  idp.resetCalls();
  await step();
  return Object.fromEntries(Object.entries(idp.calls).filter(([, n]) => n > 0));
}

describe('tokens of a sign-in link', () => {
  it('a conversation waiting for a sign-in outlives a session timeout shorter than the link', async () => {
    const c = h.whatsapp();
    await c.send('balance');
    // The link's 10 minutes and 10 more, not the 5-minute session timeout.
    const ttl = await h.base.redis.pttl(h.keys.state(h.base.conversation('bank', c.identity)));
    expect(ttl).toBeGreaterThan(1_200_000);
    expect(ttl).toBeLessThanOrEqual(1_260_000);
  });

  it('a cached token costs no provider call; an expired one is refreshed once, and the rotated refresh token is used next', async () => {
    const c = h.whatsapp();
    // The first sign-in of the component discovers the provider; the browser's own visits are not the gateway's.
    const first = await providerCalls(() => signIn(c, ALICE));
    expect(first).toMatchObject({ discovery: 1, token: 1 });
    expect(first.userinfo).toBeUndefined();
    expect(await providerCalls(() => c.send('balance'))).toEqual({});

    const refreshTokens = idp.issuedRefreshTokens().length;
    clock.advance(ACCESS_TTL * 1000);
    expect(
      await providerCalls(async () => expect(await c.send('balance')).toEqual([TEXT.balance(ALICE.sub)])),
    ).toEqual({ token: 1 });
    // The provider rotated the refresh token; the old one is spent, so the next refresh can only work with the new one.
    expect(idp.issuedRefreshTokens().length).toBe(refreshTokens + 1);
    expect(api.seen.at(-1)).toBe(idp.issuedAccessTokens().at(-1));

    clock.advance(ACCESS_TTL * 1000);
    expect(await c.send('balance')).toEqual([TEXT.balance(ALICE.sub)]);
    expect(api.seen.at(-1)).toBe(idp.issuedAccessTokens().at(-1));
  });

  it('a 401 with a fresh token: one refresh, and the request is replayed with the new token', async () => {
    const c = h.sms();
    await signIn(c, ALICE);
    const before = api.seen.length;
    api.rejectNext = 1;
    const calls = await providerCalls(async () =>
      expect(await c.send('balance')).toEqual([TEXT.balance(ALICE.sub)]),
    );
    expect(calls).toEqual({ token: 1 });
    const [refused, replayed] = api.seen.slice(before);
    expect(replayed).toBe(idp.issuedAccessTokens().at(-1));
    expect(replayed).not.toBe(refused);
  });

  it('a refused refresh (invalid_grant) sends a new sign-in link', async () => {
    const c = h.whatsapp();
    await signIn(c, BOB);
    idp.revokeGrantsOf(BOB.sub);
    clock.advance(ACCESS_TTL * 1000);
    const [reply, ...more] = await c.send('balance');
    expect(more).toEqual([]);
    expect(reply).toBe(TEXT.link(linkIn(reply!)));
  });

  it('LOGOUT revokes the tokens at the provider too; the next question asks to sign in again', async () => {
    const c = h.whatsapp();
    await signIn(c, ALICE);
    const calls = await providerCalls(async () =>
      expect(await c.send('LOGOUT')).toEqual(['You are signed out.']),
    );
    // The refresh token, then the access token.
    expect(calls).toEqual({ revocation: 2 });
    const [reply] = await c.send('balance');
    expect(reply).toBe(TEXT.link(linkIn(reply!)));
  });
});
