// A real OpenID provider (oidc-provider, as the demo's) on a loopback port, counting its calls, and a sign-in without a browser.
import {
  closeServer,
  listenIdentityProvider,
  type IdentityAccount,
  type MemoryStore,
} from '../../src/main/demo-idp.js';

export const ALICE = { username: 'alice', password: 'wonderland', sub: 'alice-001', name: 'Alice' };
export const BOB = { username: 'bob', password: 'builder', sub: 'bob-002', name: 'Bob' };

/** The provider's routes as oidc-provider names them. */
export type ProviderRoute =
  'discovery' | 'authorization' | 'resume' | 'token' | 'userinfo' | 'revocation' | 'jwks';

export interface TestProvider {
  issuer: string;
  clientId: string;
  /** Undefined for a public client. */
  clientSecret: string | undefined;
  /** Requests per route since the start (or the last `resetCalls`). */
  calls: Record<ProviderRoute, number>;
  resetCalls(): void;
  /** Every access token issued, oldest first (opaque values). */
  issuedAccessTokens(): string[];
  /** Every refresh token issued, oldest first. */
  issuedRefreshTokens(): string[];
  /** The account a live access token belongs to: what a protected API would check. */
  accountOf(accessToken: string): Promise<string | undefined>;
  /** Ends the account's grants: its access and refresh tokens stop working. */
  revokeGrantsOf(sub: string): void;
  /** The provider's storage, for tests that look closer. */
  store: MemoryStore;
  close(): Promise<void>;
}

export async function startTestProvider(
  opts: {
    redirectUris: string[];
    clientId?: string;
    /** `null` for a public client; default a fixed test secret. */
    clientSecret?: string | null;
    accounts?: IdentityAccount[];
    accessTokenTtl?: number;
    refreshTokenTtl?: number;
  } = { redirectUris: [] },
): Promise<TestProvider> {
  const clientId = opts.clientId ?? 'switchboard-test';
  const clientSecret =
    opts.clientSecret === null ? undefined : (opts.clientSecret ?? 'test-client-secret-0123456789abcdef');
  const { idp, issuer, server } = await listenIdentityProvider({
    client: {
      clientId,
      redirectUris: opts.redirectUris,
      ...(clientSecret !== undefined ? { clientSecret } : {}),
    },
    accounts: opts.accounts ?? [ALICE, BOB],
    title: 'Test Bank',
    ...(opts.accessTokenTtl !== undefined ? { accessTokenTtl: opts.accessTokenTtl } : {}),
    ...(opts.refreshTokenTtl !== undefined ? { refreshTokenTtl: opts.refreshTokenTtl } : {}),
  });
  const zero = (): Record<ProviderRoute, number> => ({
    discovery: 0,
    authorization: 0,
    resume: 0,
    token: 0,
    userinfo: 0,
    revocation: 0,
    jwks: 0,
  });
  const calls = zero();
  // oidc-provider's documented pre/post middleware: the route is known once the request was handled.
  idp.provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route as ProviderRoute | undefined;
    if (route !== undefined && route in calls) calls[route] += 1;
  });
  const accessTokens: string[] = [];
  const refreshTokens: string[] = [];
  idp.provider.on('access_token.saved', (token) => accessTokens.push(token.jti));
  idp.provider.on('refresh_token.saved', (token) => refreshTokens.push(token.jti));
  return {
    issuer,
    clientId,
    clientSecret,
    calls,
    resetCalls: () => Object.assign(calls, zero()),
    issuedAccessTokens: () => [...accessTokens],
    issuedRefreshTokens: () => [...refreshTokens],
    accountOf: async (accessToken) => (await idp.provider.AccessToken.find(accessToken))?.accountId,
    revokeGrantsOf: (sub) => idp.store.revokeGrantsOf(sub),
    store: idp.store,
    close: () => closeServer(server),
  };
}

/** Cookies by name, as a browser would send them back to the provider (one host; paths do not matter here). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\b/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Walks a sign-in at the test provider as a browser would, over plain HTTP: follows the redirects to the
 * login page, posts the form (or presses Cancel), and follows on until the provider sends the browser
 * away from itself. Answers that URL: the callback with `code` and `state` (or `error=access_denied`).
 */
export async function signInWithoutBrowser(
  authorizationUrl: string,
  as: { username: string; password: string } | { cancel: true },
): Promise<string> {
  const origin = new URL(authorizationUrl).origin;
  const jar = new CookieJar();
  const request = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.take(response);
    return response;
  };
  let url = authorizationUrl;
  let submitted = false;
  for (let hop = 0; hop < 20; hop += 1) {
    const response = await request(url);
    const location = response.headers.get('location');
    if (location !== null) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== origin) return next.href;
      url = next.href;
      continue;
    }
    const page = await response.text();
    if (response.status !== 200 || !page.includes('name="password"'))
      throw new Error(
        `the provider answered ${response.status} where a login page or a redirect was expected`,
      );
    if (submitted) throw new Error('the provider refused the username or password');
    const interaction = new URL(url).pathname;
    const posted =
      'cancel' in as
        ? await request(new URL(`${interaction}/abort`, url).href, { method: 'POST' })
        : await request(new URL(`${interaction}/login`, url).href, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ username: as.username, password: as.password }).toString(),
          });
    submitted = true;
    const after = posted.headers.get('location');
    if (after === null) {
      const text = await posted.text();
      if (text.includes('Wrong username or password'))
        throw new Error('the provider refused the username or password');
      throw new Error(`the provider answered the login form with ${posted.status}`);
    }
    await posted.body?.cancel();
    const next = new URL(after, url);
    if (next.origin !== origin) return next.href;
    url = next.href;
  }
  throw new Error('the sign-in did not leave the provider after 20 redirects');
}
