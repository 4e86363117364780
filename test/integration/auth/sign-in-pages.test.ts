// The sign-in link's pages through the real gateway over real HTTP, with the oauth method and a real
// oidc-provider on loopback: the link's GET and POST, the provider's callback, the clear pages of every way
// it can go wrong, and the `signin` event in the conversation's inbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../src/core/events.js';
import { createDataCipher } from '../../../src/store/cipher.js';
import { ConversationStore } from '../../../src/store/conversation-store.js';
import { RedisSignInStore, type SignInOrigin } from '../../../src/store/sign-in-store.js';
import { SIGN_IN_TEXT as T } from '../../../src/http/sign-in-pages.js';
import { manualClock } from '../../support/clock.js';
import { botYaml, NUMBERS, PUBLIC_URL } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { startRedisProxy } from '../../support/redis-proxy.js';
import { scanPrefix } from '../identity/setup.js';
import {
  ALICE,
  signInWithoutBrowser,
  startTestProvider,
  type TestProvider,
} from '../../support/oidc-provider.js';

const clock = manualClock();
let h: Harness;
let idp: TestProvider;
/** A second provider, closed between the sign-in and the callback. */
let flaky: TestProvider;
let signIns: RedisSignInStore;
let conversations: ConversationStore;
let gateway: string;

const CALLBACK = `${PUBLIC_URL}/oauth/callback`;

function oauthYaml(
  name: string,
  provider: { issuer: string; clientId: string; clientSecret?: string | undefined },
  more = '',
) {
  return `      ${name}:
        type: oauth
        issuer: ${provider.issuer}
        clientId: ${provider.clientId}
        clientSecret: ${provider.clientSecret}
        scopes: [openid]
${more}`;
}

beforeAll(async () => {
  idp = await startTestProvider({ redirectUris: [CALLBACK] });
  flaky = await startTestProvider({ redirectUris: [CALLBACK] });
  const away = { issuer: 'http://127.0.0.1:1', clientId: 'nobody', clientSecret: 'none-0123456789' };
  h = await startHarness({
    label: 'sign-in-pages',
    allowHosts: ['127.0.0.1'],
    // No workers: the `signin` event stays in the inbox for the test to read.
    gateway: { web: true, workers: false },
    clock,
    bots: botYaml(
      'bank',
      `    auth:
${oauthYaml('bank-oauth', idp)}
${oauthYaml('quick-oauth', idp, '        binding: false\n')}
${oauthYaml('flaky-oauth', flaky)}
${oauthYaml('away-oauth', away)}
    flows:
      main:
        - say: Hello`,
    ),
  });
  gateway = h.main!.url!;
  const cipher = createDataCipher(h.processEnv.SWITCHBOARD_DATA_KEY!);
  signIns = new RedisSignInStore(h.redis, h.keys, cipher, { now: () => clock.now() });
  conversations = new ConversationStore(h.redis, h.keys, cipher);
});
afterAll(async () => {
  await h?.close();
  await idp?.close();
  await flaky?.close().catch(() => undefined);
});

let people = 0;
/** A session of a harness conversation of its own, made as the dialog side will make it. */
async function session(component = 'bank-oauth', binding = true) {
  const from = `whatsapp:+4477009${String(10_000 + ++people)}`;
  const origin: SignInOrigin = {
    workspace: 'test',
    botId: 'bank',
    component,
    cid: h.conversation('bank', from),
    channel: 'whatsapp',
    identity: from,
    from,
    to: `whatsapp:${NUMBERS.whatsapp}`,
    binding,
  };
  return { origin, ...(await signIns.create(origin, 600)) };
}

interface Answer {
  status: number;
  headers: Headers;
  html: string;
  /** The page's words: tags dropped, entities decoded, spaces collapsed. */
  text: string;
}

function words(html: string): string {
  const main = /<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? html;
  return main
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

async function request(method: string, url: string, cookie?: string): Promise<Answer> {
  const res = await fetch(url.startsWith('http') ? url : gateway + url, {
    method,
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  const html = await res.text();
  return { status: res.status, headers: res.headers, html, text: words(html) };
}

const page = (title: string, ...body: string[]) => [title, ...body].join(' ');

/** Presses Continue: the redirect to the provider and the browser's cookie (name=value). */
async function cont(code: string) {
  const answer = await request('POST', `/s/${code}`);
  expect(answer.status).toBe(303);
  const cookie = answer.headers.get('set-cookie') ?? '';
  return { answer, location: new URL(answer.headers.get('location')!), cookie: cookie.split(';')[0]! };
}

/** Signs in at the provider (or cancels there): the callback URL it sends the browser back to, on this gateway. */
async function atProvider(
  location: URL,
  as: Parameters<typeof signInWithoutBrowser>[1] = ALICE,
): Promise<string> {
  const callback = await signInWithoutBrowser(location.href, as);
  expect(callback.startsWith(`${CALLBACK}?`)).toBe(true);
  return callback.replace(PUBLIC_URL, gateway);
}

async function inbox(cid: string): Promise<InboundEvent[]> {
  const raw = await h.redis.lrange(h.keys.inbox(cid), 0, -1);
  return raw.map((r) => conversations.openEvent(cid, r)!);
}

describe('the sign-in link page', () => {
  it('shows Continue on GET, twice, without spending the code; then the POST redirects to the provider', async () => {
    const { code, session: id } = await session();
    for (let i = 0; i < 2; i++) {
      const shown = await request('GET', `/s/${code}`);
      expect(shown.status).toBe(200);
      // An oauth component names no one to people: the bot's id does.
      expect(shown.text).toBe(page('Sign in to bank', T.continueBody, 'Continue'));
      expect(shown.html).toContain('<h1>Sign in to bank</h1>');
      expect(shown.html).toContain('<form method="post"><button type="submit">Continue</button></form>');
      expect(shown.headers.get('cache-control')).toBe('no-store');
      expect(shown.headers.get('referrer-policy')).toBe('no-referrer');
      expect(shown.headers.get('x-robots-tag')).toBe('noindex, nofollow');
      expect(shown.headers.get('content-security-policy')).toMatch(
        /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; base-uri 'none'; frame-ancestors 'none'$/,
      );
    }
    expect(await signIns.status(id)).toEqual({ status: 'pending' });

    const { answer, location, cookie } = await cont(code);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(`${location.origin}${location.pathname}`).toBe(`${idp.issuer}/auth`);
    const q = Object.fromEntries(location.searchParams);
    expect(Object.keys(q).sort()).toEqual(
      [
        'client_id',
        'code_challenge',
        'code_challenge_method',
        'nonce',
        'redirect_uri',
        'response_type',
        'scope',
        'state',
      ].sort(),
    );
    expect(q.redirect_uri).toBe(`${PUBLIC_URL}/oauth/callback`);
    expect(q.code_challenge_method).toBe('S256');
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The state is random, never the conversation's or the session's.
    expect(q.state).not.toContain(id);
    const setCookie = answer.headers.get('set-cookie')!;
    expect(setCookie).toMatch(
      /^switchboard_sign_in=[A-Za-z0-9_-]{43}; Max-Age=900; Path=\/oauth; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(cookie).toMatch(/^switchboard_sign_in=/);
    expect(await signIns.status(id)).toEqual({ status: 'started' });
  });

  it('a second POST gets the clear "already used" page', async () => {
    const { code } = await session();
    await cont(code);
    const again = await request('POST', `/s/${code}`);
    expect(again.status).toBe(410);
    expect(again.text).toBe(page(T.usedTitle, T.usedBody));
    const shown = await request('GET', `/s/${code}`);
    expect([shown.status, shown.text]).toEqual([410, page(T.usedTitle, T.usedBody)]);
  });

  it('an unknown or malformed code gets the clear "not valid" page', async () => {
    for (const path of ['/s/AAAAAAAAAAAAAAAAAAAAAA', '/s/short', `/s/${'x'.repeat(80)}`]) {
      for (const method of ['GET', 'POST']) {
        const answer = await request(method, path);
        expect([answer.status, answer.text]).toEqual([404, page(T.unknownTitle, T.unknownBody)]);
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
    }
  });

  it('an expired link gets the clear "expired" page on GET and on POST', async () => {
    const { code } = await session();
    clock.advance(600_000);
    for (const method of ['GET', 'POST']) {
      const answer = await request(method, `/s/${code}`);
      expect([answer.status, answer.text]).toEqual([410, page(T.expiredTitle, T.expiredBody)]);
    }
  });
});

describe('the provider callback', () => {
  it('success shows a 6-digit code kept only hashed, and a signin event lands in the conversation', async () => {
    const { code, session: id, origin } = await session();
    const { location, cookie } = await cont(code);
    const callback = await atProvider(location);
    const tokenCalls = idp.calls.token;
    const done = await request('GET', callback, cookie);
    expect(done.status).toBe(200);
    const shown = /<p class="code">(\d{3}) (\d{3})<\/p>/.exec(done.html);
    expect(shown).not.toBeNull();
    const binding = `${shown![1]}${shown![2]}`;
    expect(done.text).toBe(page(T.signedInTitle, T.bindingBody, `${shown![1]} ${shown![2]}`, T.bindingAfter));
    expect(done.headers.get('set-cookie')).toMatch(
      /^switchboard_sign_in=; Path=\/oauth; Expires=Thu, 01 Jan 1970/,
    );
    expect(idp.calls.token).toBe(tokenCalls + 1);

    // Only the keyed hash of the binding code is kept; no value anywhere holds it.
    const record = await h.redis.hgetall(h.keys.signInSession(id));
    expect(record.bind).toBe(h.keys.signInHash('binding', id, binding));
    for (const key of await scanPrefix(h.redis, h.prefix)) {
      const type = await h.redis.type(key);
      const values =
        type === 'hash'
          ? Object.values(await h.redis.hgetall(key))
          : type === 'list'
            ? await h.redis.lrange(key, 0, -1)
            : type === 'string'
              ? [(await h.redis.get(key)) ?? '']
              : [];
      for (const value of values) {
        expect(value).not.toBe(binding);
        expect(value).not.toContain(code);
      }
    }

    expect(await inbox(origin.cid)).toEqual([
      {
        id: `signin:${id}:completed`,
        kind: 'signin',
        botId: 'bank',
        channel: 'whatsapp',
        identity: origin.identity,
        from: origin.from,
        to: origin.to,
        text: '',
        receivedAt: clock.now(),
        signIn: { session: id, status: 'completed' },
      },
    ]);
    const claimed = await signIns.claim(id, binding);
    expect(claimed).toMatchObject({
      ok: true,
      userId: 'bank-oauth:alice-001',
      tokens: { accessToken: idp.issuedAccessTokens().at(-1) },
    });
    const lines = h.main!.logs.find('sign-in callback', (l) => l.conversation === origin.cid);
    expect(lines.map((l) => [l.bot, l.component, l.outcome])).toEqual([['bank', 'bank-oauth', 'completed']]);
    const everything = JSON.stringify(h.main!.logs.lines);
    expect(everything).not.toContain(code);
    expect(everything).not.toContain(location.searchParams.get('state')!);
    expect(everything).not.toContain(binding);
  });

  it('without binding: the signed-in page and no code', async () => {
    const { code, session: id } = await session('quick-oauth', false);
    const { location, cookie } = await cont(code);
    const done = await request('GET', await atProvider(location), cookie);
    expect([done.status, done.text]).toEqual([200, page(T.signedInTitle, T.signedInBody)]);
    expect(await h.redis.hexists(h.keys.signInSession(id), 'bind')).toBe(0);
    expect(await signIns.claim(id, undefined)).toMatchObject({ ok: true, userId: 'quick-oauth:alice-001' });
  });

  it('a tampered state gets the clear page and exchanges nothing; the real callback still works', async () => {
    const { code, session: id } = await session();
    const { location, cookie } = await cont(code);
    const callback = new URL(await atProvider(location));
    const exchanged = idp.calls.token;
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')!.slice(0, -2)}xx`);
    const bad = await request('GET', tampered.toString(), cookie);
    expect([bad.status, bad.text]).toEqual([400, page(T.badCallbackTitle, T.badCallbackBody)]);
    const none = new URL(callback);
    none.searchParams.delete('state');
    const missing = await request('GET', none.toString(), cookie);
    expect([missing.status, missing.text]).toEqual([400, page(T.badCallbackTitle, T.badCallbackBody)]);
    expect(idp.calls.token).toBe(exchanged);
    expect(await signIns.status(id)).toEqual({ status: 'started' });
    expect((await request('GET', callback.toString(), cookie)).status).toBe(200);
  });

  it('a callback whose code was already exchanged gets the clear "already finished" page', async () => {
    const { code } = await session();
    const { location, cookie } = await cont(code);
    const callback = await atProvider(location);
    expect((await request('GET', callback, cookie)).status).toBe(200);
    const exchanged = idp.calls.token;
    const again = await request('GET', callback, cookie);
    expect([again.status, again.text]).toEqual([410, page(T.finishedTitle, T.finishedBody)]);
    expect(idp.calls.token).toBe(exchanged);
  });

  it('a callback in another browser gets the clear page and takes nothing', async () => {
    const { code, session: id, origin } = await session();
    const { location, cookie } = await cont(code);
    const callback = await atProvider(location);
    for (const other of [undefined, 'switchboard_sign_in=someone-elses-browser-key']) {
      const answer = await request('GET', callback, other);
      expect([answer.status, answer.text]).toEqual([400, page(T.otherBrowserTitle, T.otherBrowserBody)]);
    }
    expect(await signIns.status(id)).toEqual({ status: 'started' });
    expect(await inbox(origin.cid)).toEqual([]);
    expect((await request('GET', callback, `theme=dark; ${cookie}`)).status).toBe(200);
  });

  it('access_denied fails the session, says it was cancelled, and tells the conversation', async () => {
    const { code, session: id, origin } = await session();
    const { location, cookie } = await cont(code);
    const exchanged = idp.calls.token;
    const callback = await atProvider(location, { cancel: true });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const denied = await request('GET', callback, cookie);
    expect([denied.status, denied.text]).toEqual([200, page(T.cancelledTitle, T.cancelledBody)]);
    expect(idp.calls.token).toBe(exchanged);
    expect(await signIns.status(id)).toEqual({ status: 'failed', reason: 'denied' });
    expect((await inbox(origin.cid)).map((e) => [e.id, e.signIn])).toEqual([
      [`signin:${id}:failed`, { session: id, status: 'failed' }],
    ]);
  });
});

describe('when what the pages depend on is away', () => {
  it('the provider away at the callback: a page saying so (never a 5xx), the session failed, the conversation told', async () => {
    const { code, session: id, origin } = await session('flaky-oauth');
    const { location, cookie } = await cont(code);
    const callback = await atProvider(location);
    await flaky.close();
    const answer = await request('GET', callback, cookie);
    expect([answer.status, answer.text]).toEqual([424, page(T.providerDownTitle, T.providerDownBody)]);
    expect(await signIns.status(id)).toEqual({ status: 'failed', reason: 'error' });
    expect((await inbox(origin.cid)).map((e) => e.id)).toEqual([`signin:${id}:failed`]);
  });

  it('the provider away at Continue: a page saying so, and the link is not spent', async () => {
    const { code, session: id } = await session('away-oauth');
    const answer = await request('POST', `/s/${code}`);
    expect([answer.status, answer.text]).toEqual([424, page(T.providerDownTitle, T.providerDownBody)]);
    expect(answer.headers.get('set-cookie')).toBeNull();
    expect(await signIns.status(id)).toEqual({ status: 'pending' });
    expect((await request('GET', `/s/${code}`)).status).toBe(200);
  });

  it('Redis away: the 503 page, with Retry-After', async () => {
    const { code } = await session();
    const proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const web = await h.startGateway({ web: true, workers: false }, 'web-behind-proxy', {
      REDIS_URL: proxy.url,
    });
    try {
      expect((await request('GET', `${web.url!}/s/${code}`)).status).toBe(200);
      const cut = proxy.cutWhen(new RegExp(`${h.prefix}:si:`));
      const answer = await request('GET', `${web.url!}/s/${code}`);
      await cut;
      expect([answer.status, answer.text]).toEqual([503, page(T.redisDownTitle, T.redisDownBody)]);
      expect(answer.headers.get('retry-after')).toBe('30');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    } finally {
      await web.close();
      await proxy.close();
    }
  });
});
