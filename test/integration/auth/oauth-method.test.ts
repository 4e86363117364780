// The oauth method against a real OpenID provider on loopback: discovery, the code flow with PKCE, refresh, revocation.
import express from 'express';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuthDeps, SignInOutcome } from '../../../src/auth/index.js';
import { oauth, type OAuthComponent } from '../../../src/auth/methods/oauth.js';
import { Templates } from '../../../src/core/templates.js';
import {
  closeServer,
  createIdentityProvider,
  startDemoIdentityProvider,
} from '../../../src/main/demo-idp.js';
import { OutboundRefusedError } from '../../../src/net/errors.js';
import { createOutboundClient } from '../../../src/net/outbound.js';
import {
  ALICE,
  BOB,
  signInWithoutBrowser,
  startTestProvider,
  type ProviderRoute,
  type TestProvider,
} from '../../support/oidc-provider.js';

/** Where the provider sends the browser back; the test takes the URL from the redirect, nothing listens there. */
const REDIRECT = 'http://127.0.0.1:9/oauth/callback';
const ACCESS_TTL = 120;

let idp: TestProvider;
const outbound = createOutboundClient();
const depsFor = (allowHosts: string[]): AuthDeps => ({
  http: (request) => outbound.send({ ...request, allowHosts }),
  templates: new Templates(),
});
const deps = depsFor(['127.0.0.1']);

function component(extra: Record<string, unknown> = {}): OAuthComponent {
  return oauth.schema.parse({
    type: 'oauth',
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    scopes: ['openid', 'offline_access'],
    ...extra,
  });
}

const totalCalls = () => Object.values(idp.calls).reduce((sum, n) => sum + n, 0);

/** A whole sign-in: begin, the user at the provider, complete. */
async function signIn(
  c: OAuthComponent,
  as: { username: string; password: string } = ALICE,
  name = 'bank',
): Promise<SignInOutcome> {
  const start = await oauth.begin!(name, c, { redirectUri: REDIRECT }, deps);
  const callbackUrl = await signInWithoutBrowser(start.url, as);
  return oauth.complete!(name, c, { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets }, deps);
}

function success(outcome: SignInOutcome) {
  if (outcome.result !== 'success') throw new Error(`expected a success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

beforeAll(async () => {
  idp = await startTestProvider({ redirectUris: [REDIRECT], accessTokenTtl: ACCESS_TTL });
});

afterAll(async () => {
  await idp?.close();
});

beforeEach(() => idp.resetCalls());

describe('begin', () => {
  it('discovers the provider once per component and sends the browser to its authorization endpoint with PKCE S256', async () => {
    const c = component({ authorizationParams: { prompt: 'login', ui_locales: 'en' } });
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const url = new URL(start.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: idp.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      state: start.secrets.state,
      nonce: start.secrets.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(start.secrets.codeVerifier),
      code_challenge_method: 'S256',
      prompt: 'login',
      ui_locales: 'en',
    });
    // The verifier never leaves: only its challenge is in the URL.
    expect(start.url).not.toContain(start.secrets.codeVerifier);
    expect(idp.calls.discovery).toBe(1);

    const again = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    expect(again.secrets.state).not.toBe(start.secrets.state);
    expect(again.secrets.nonce).not.toBe(start.secrets.nonce);
    expect(again.secrets.codeVerifier).not.toBe(start.secrets.codeVerifier);
    expect(totalCalls()).toBe(1);
  });

  it('sends no nonce when the component does not ask for OpenID Connect', async () => {
    const c = component({ scopes: ['offline_access'], userId: { from: 'userinfo' } });
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    expect(new URL(start.url).searchParams.has('nonce')).toBe(false);
  });
});

describe('complete', () => {
  it('trades the callback for the tokens the provider issued, the user named by sub in the component namespace', async () => {
    const c = component();
    const outcome = success(await signIn(c));
    expect(outcome).toEqual({
      result: 'success',
      userId: 'bank:alice-001',
      accessToken: idp.issuedAccessTokens().at(-1),
      ttlSeconds: ACCESS_TTL,
      refreshToken: idp.issuedRefreshTokens().at(-1),
      refreshTtlSeconds: 30 * 24 * 3600,
    });
    expect(await idp.accountOf(outcome.accessToken)).toBe(ALICE.sub);
    expect(idp.calls).toMatchObject({ discovery: 1, authorization: 1, token: 1, userinfo: 0 });
  });

  it('userNamespace false takes sub as the workspace user id; another account is another user', async () => {
    const c = component({ userNamespace: false });
    expect(success(await signIn(c)).userId).toBe('alice-001');
    expect(success(await signIn(c, BOB)).userId).toBe('bob-002');
  });

  it('sends the redirect URI the sign-in began with, whatever host the callback arrived at', async () => {
    const c = component();
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callback = new URL(await signInWithoutBrowser(start.url, ALICE));
    const behindProxy = `http://10.0.0.7:8080/oauth/callback${callback.search}`;
    const opts = { callbackUrl: behindProxy, redirectUri: REDIRECT, secrets: start.secrets };
    expect(success(await oauth.complete!('bank', c, opts, deps)).userId).toBe('bank:alice-001');
    expect(await oauth.complete!('bank', c, { ...opts, callbackUrl: 'not a URL' }, deps)).toEqual({
      result: 'refused',
      reason: 'the callback URL is not valid',
    });
  });

  it('a tampered state is refused before any code is exchanged', async () => {
    const c = component();
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callback = new URL(await signInWithoutBrowser(start.url, ALICE));
    callback.searchParams.set('state', client.randomState());
    const outcome = await oauth.complete!(
      'bank',
      c,
      { callbackUrl: callback.href, redirectUri: REDIRECT, secrets: start.secrets },
      deps,
    );
    expect(outcome).toEqual({
      result: 'refused',
      reason:
        'the answer does not match this sign-in: unexpected "state" response parameter value (OAUTH_INVALID_RESPONSE)',
    });
    expect(idp.calls.token).toBe(0);
  });

  it('a code exchanged once is refused the second time (invalid_grant)', async () => {
    const c = component();
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
    const opts = { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets };
    success(await oauth.complete!('bank', c, opts, deps));
    expect(await oauth.complete!('bank', c, opts, deps)).toEqual({
      result: 'refused',
      reason: 'the token endpoint answered 400 invalid_grant',
    });
    expect(idp.calls.token).toBe(2);
  });

  it('a wrong PKCE verifier is refused by the provider', async () => {
    const c = component();
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
    const secrets = { ...start.secrets, codeVerifier: client.randomPKCECodeVerifier() };
    expect(await oauth.complete!('bank', c, { callbackUrl, redirectUri: REDIRECT, secrets }, deps)).toEqual({
      result: 'refused',
      reason: 'the token endpoint answered 400 invalid_grant',
    });
  });

  it('a user who cancels at the provider is refused (access_denied), with no token call', async () => {
    const c = component();
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callbackUrl = await signInWithoutBrowser(start.url, { cancel: true });
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    expect(
      await oauth.complete!('bank', c, { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets }, deps),
    ).toEqual({ result: 'refused', reason: 'the provider answered the sign-in with access_denied' });
    expect(idp.calls.token).toBe(0);
  });

  it('takes the user id from a userinfo claim when told to', async () => {
    const c = component({
      scopes: ['openid', 'profile'],
      userId: { claim: 'preferred_username', from: 'userinfo' },
    });
    expect(success(await signIn(c, BOB)).userId).toBe('bank:bob');
    expect(idp.calls).toMatchObject({ token: 1, userinfo: 1 });
  });
});

describe('refresh', () => {
  it('trades the refresh token for a new access token and a rotated refresh token; the old one is then refused', async () => {
    const c = component();
    const first = success(await signIn(c));
    idp.resetCalls();
    const refreshed = await oauth.refresh!('bank', c, first.refreshToken!, deps);
    if (refreshed.result !== 'success') throw new Error(JSON.stringify(refreshed));
    expect(refreshed).toEqual({
      result: 'success',
      accessToken: idp.issuedAccessTokens().at(-1),
      ttlSeconds: ACCESS_TTL,
      refreshToken: idp.issuedRefreshTokens().at(-1),
      refreshTtlSeconds: 30 * 24 * 3600,
    });
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect(refreshed.refreshToken).not.toBe(first.refreshToken);
    expect(await idp.accountOf(refreshed.accessToken)).toBe(ALICE.sub);
    expect(idp.calls).toMatchObject({ token: 1, discovery: 0 });

    expect(await oauth.refresh!('bank', c, first.refreshToken!, deps)).toEqual({
      result: 'refused',
      reason: 'the token endpoint answered 400 invalid_grant',
    });
  });

  it('a grant the provider ended is refused', async () => {
    const c = component();
    const first = success(await signIn(c, BOB));
    idp.revokeGrantsOf(BOB.sub);
    expect(await oauth.refresh!('bank', c, first.refreshToken!, deps)).toEqual({
      result: 'refused',
      reason: 'the token endpoint answered 400 invalid_grant',
    });
  });
});

describe('revoke', () => {
  it("calls the provider's revocation endpoint for the refresh and the access token; both stop working", async () => {
    const c = component();
    const tokens = success(await signIn(c));
    idp.resetCalls();
    await oauth.revoke!(
      'bank',
      c,
      { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken! },
      deps,
    );
    expect(idp.calls).toMatchObject({ revocation: 2, token: 0 });
    expect(await idp.accountOf(tokens.accessToken)).toBeUndefined();
    expect((await oauth.refresh!('bank', c, tokens.refreshToken!, deps)).result).toBe('refused');
  });

  it('never throws, and calls nothing, when the provider has no revocation endpoint or cannot be reached', async () => {
    const explicit = component({
      issuer: idp.issuer,
      authorizationEndpoint: `${idp.issuer}/auth`,
      tokenEndpoint: `${idp.issuer}/token`,
    });
    await oauth.revoke!('bank', explicit, { accessToken: 'whatever' }, deps);
    await oauth.revoke!('bank', component(), { accessToken: 'whatever' }, depsFor(['idp.example.com']));
    expect(totalCalls()).toBe(0);
  });
});

describe('explicit endpoints', () => {
  it('signs in, refreshes and revokes without discovery', async () => {
    const c = component({
      issuer: idp.issuer,
      authorizationEndpoint: `${idp.issuer}/auth`,
      tokenEndpoint: `${idp.issuer}/token`,
      userinfoEndpoint: `${idp.issuer}/me`,
      revocationEndpoint: `${idp.issuer}/token/revocation`,
      userId: { from: 'userinfo' },
    });
    const tokens = success(await signIn(c));
    expect(tokens.userId).toBe('bank:alice-001');
    const refreshed = await oauth.refresh!('bank', c, tokens.refreshToken!, deps);
    expect(refreshed.result).toBe('success');
    if (refreshed.result === 'success')
      await oauth.revoke!('bank', c, { refreshToken: refreshed.refreshToken! }, deps);
    expect(idp.calls).toMatchObject({ discovery: 0, token: 2, userinfo: 1, revocation: 1 });
  });

  it('an ID token from another issuer than the one configured is refused', async () => {
    const c = component({
      issuer: 'https://someone-else.example.com',
      authorizationEndpoint: `${idp.issuer}/auth`,
      tokenEndpoint: `${idp.issuer}/token`,
    });
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
    const outcome = await oauth.complete!(
      'bank',
      c,
      { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets },
      deps,
    );
    expect(outcome).toEqual({
      result: 'refused',
      reason:
        'the answer does not match this sign-in: unexpected "iss" (issuer) response parameter value (OAUTH_INVALID_RESPONSE)',
    });
  });
});

describe('the workspace reach', () => {
  it('a provider host not in allowHosts is refused: unavailable, nothing sent', async () => {
    const elsewhere = depsFor(['idp.example.com']);
    await expect(oauth.begin!('bank', component(), { redirectUri: REDIRECT }, elsewhere)).rejects.toThrow(
      OutboundRefusedError,
    );
    const explicit = component({
      issuer: idp.issuer,
      authorizationEndpoint: `${idp.issuer}/auth`,
      tokenEndpoint: `${idp.issuer}/token`,
    });
    // The browser part is the user's; the gateway's own call, the code exchange, is the one refused.
    const start = await oauth.begin!('bank', explicit, { redirectUri: REDIRECT }, elsewhere);
    const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
    idp.resetCalls();
    const opts = { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets };
    expect(await oauth.complete!('bank', explicit, opts, elsewhere)).toEqual({
      result: 'unavailable',
      reason: 'outbound call to 127.0.0.1 refused: host is not in allowHosts',
    });
    expect(await oauth.refresh!('bank', explicit, 'some-refresh-token', elsewhere)).toEqual({
      result: 'unavailable',
      reason: 'outbound call to 127.0.0.1 refused: host is not in allowHosts',
    });
    const sent = Object.entries(idp.calls).filter(([, n]) => n > 0) as [ProviderRoute, number][];
    expect(sent).toEqual([]);
  });

  it('a provider that is down is unavailable, turn after turn', async () => {
    const down = component({ issuer: 'http://127.0.0.1:9' });
    const refused = await oauth.refresh!('bank', down, 'some-refresh-token', deps);
    expect(refused).toEqual({
      result: 'unavailable',
      reason: 'outbound call to 127.0.0.1 failed: ECONNREFUSED',
    });
    expect((await oauth.refresh!('bank', down, 'some-refresh-token', deps)).result).toBe('unavailable');
  });
});

describe('a public client', () => {
  let publicIdp: TestProvider;
  beforeAll(async () => {
    publicIdp = await startTestProvider({ redirectUris: [REDIRECT], clientSecret: null });
  });
  afterAll(async () => {
    await publicIdp?.close();
  });

  it('signs in with PKCE alone (no client secret)', async () => {
    const c = oauth.schema.parse({
      type: 'oauth',
      issuer: publicIdp.issuer,
      clientId: publicIdp.clientId,
      scopes: ['openid', 'offline_access'],
    });
    const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
    const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
    const outcome = success(
      await oauth.complete!('bank', c, { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets }, deps),
    );
    expect(outcome.accessToken).toBe(publicIdp.issuedAccessTokens().at(-1));
    const refreshed = await oauth.refresh!('bank', c, outcome.refreshToken!, deps);
    expect(refreshed.result).toBe('success');
  });
});

describe("the sandbox's Demo Bank provider", () => {
  it("signs alice in with the demo bank's password, named by the bank's user id, and tells whose a token is", async () => {
    const demo = await startDemoIdentityProvider({ redirectUris: [REDIRECT] });
    try {
      const c = oauth.schema.parse({
        type: 'oauth',
        issuer: demo.issuer,
        clientId: demo.clientId,
        clientSecret: demo.clientSecret,
        scopes: ['openid', 'offline_access'],
        userNamespace: false,
      });
      const start = await oauth.begin!('demo-bank-sso', c, { redirectUri: REDIRECT }, deps);
      // Without the provider's cookies (another browser) the login page is a clear 400, never a 5xx.
      const cookieless = await fetch(start.url, { redirect: 'follow' });
      expect(cookieless.status).toBe(400);
      expect(await cookieless.text()).toBe(
        'This sign-in has expired or is not valid. Go back to the conversation and ask for a new link.',
      );
      const callbackUrl = await signInWithoutBrowser(start.url, {
        username: 'alice',
        password: 'wonderland',
      });
      const outcome = success(
        await oauth.complete!(
          'demo-bank-sso',
          c,
          { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets },
          deps,
        ),
      );
      expect(outcome.userId).toBe('u-alice');
      expect(await demo.accountOf(outcome.accessToken)).toBe('u-alice');
      expect(await demo.accountOf('not-a-token')).toBeUndefined();
      await expect(
        signInWithoutBrowser(start.url, { username: 'alice', password: 'not-her-password' }),
      ).rejects.toThrow('the provider refused the username or password');
    } finally {
      await demo.close();
    }
  });
});

describe('the provider mounted under a path of an express app', () => {
  it('serves discovery, the login page and the token endpoint under the path', async () => {
    const app = express();
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const issuer = `http://127.0.0.1:${port}/demo-idp`;
    const mounted = createIdentityProvider({
      issuer,
      client: { clientId: 'mounted', clientSecret: 'mounted-secret-0123456789', redirectUris: [REDIRECT] },
      accounts: [ALICE],
    });
    app.use('/demo-idp', mounted.handle);
    try {
      const c = oauth.schema.parse({
        type: 'oauth',
        issuer,
        clientId: 'mounted',
        clientSecret: 'mounted-secret-0123456789',
      });
      const start = await oauth.begin!('bank', c, { redirectUri: REDIRECT }, deps);
      expect(start.url.startsWith(`${issuer}/auth?`)).toBe(true);
      const callbackUrl = await signInWithoutBrowser(start.url, ALICE);
      const outcome = await oauth.complete!(
        'bank',
        c,
        { callbackUrl, redirectUri: REDIRECT, secrets: start.secrets },
        deps,
      );
      expect(success(outcome).userId).toBe('bank:alice-001');
    } finally {
      await closeServer(server);
    }
  });
});
