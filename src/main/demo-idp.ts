// "Sign in with Demo Bank": a real OpenID provider (oidc-provider) on loopback for the sandbox and the tests.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import { DEMO_ACCOUNTS } from '../../examples/demo-bank/server.js';

/** Someone who can sign in: the form's username and password, and the `sub` the provider names them by. */
export interface IdentityAccount {
  username: string;
  password: string;
  sub: string;
  name?: string;
}

/** The one client the provider knows: the gateway. No secret makes it a public client (PKCE only). */
export interface IdentityClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
}

export interface IdentityProviderOptions {
  /** The issuer identifier: the URL the provider is reached at, its mount path included. */
  issuer: string;
  client: IdentityClient;
  accounts: readonly IdentityAccount[];
  /** Seconds an access token lives; default 3600. */
  accessTokenTtl?: number;
  /** Seconds a refresh token (and the grant behind it) lives; default 30 days. */
  refreshTokenTtl?: number;
  /** Whose sign-in page it is: "Sign in to <title>". */
  title?: string;
  /** A line under the form, such as which demo account to try. */
  hint?: string;
}

/**
 * A provider and the request handler that serves it with its login page. On its own port, see
 * `listenIdentityProvider`; under a path of an express app, give the issuer that path and mount the
 * handler there (express takes the path off the URL the handler sees):
 *
 *     const idp = createIdentityProvider({ issuer: `${publicUrl}/demo-idp`, client, accounts });
 *     app.use('/demo-idp', idp.handle);
 */
export interface IdentityProvider {
  provider: Provider;
  /** Serves the login page under `<issuer>/interaction/` and the provider's endpoints; mountable under express. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  store: MemoryStore;
}

const THIRTY_DAYS = 30 * 24 * 3600;

interface Entry {
  payload: AdapterPayload;
  /** Absolute expiry (ms), when the provider gave one. */
  expiresAt?: number;
}

/**
 * The provider's storage: in memory (a demo and test provider restarts empty). Implements oidc-provider's
 * documented adapter interface, one adapter per model over one map, so that a grant can be ended whole.
 */
export class MemoryStore {
  private readonly entries = new Map<string, Entry>();

  adapter = (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    const live = (id: string): AdapterPayload | undefined => this.live(key(id));
    const findBy = (field: 'uid' | 'userCode', value: string) => {
      for (const [k, entry] of this.entries) {
        if (k.startsWith(`${model}:`) && entry.payload[field] === value) return this.live(k);
      }
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        const entry: Entry = { payload };
        if (expiresIn !== undefined) entry.expiresAt = Date.now() + expiresIn * 1000;
        this.entries.set(key(id), entry);
      },
      find: async (id) => live(id),
      findByUid: async (uid) => findBy('uid', uid),
      findByUserCode: async (userCode) => findBy('userCode', userCode),
      consume: async (id) => {
        const entry = this.entries.get(key(id));
        if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
      },
      destroy: async (id) => {
        this.entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => this.revokeGrant(grantId),
    };
  };

  private live(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /** The stored payloads of one model ("AccessToken", "RefreshToken", "Grant", "Session", ...). */
  payloads(model: string): AdapterPayload[] {
    return [...this.entries.keys()]
      .filter((k) => k.startsWith(`${model}:`))
      .flatMap((k): AdapterPayload[] => {
        const payload = this.live(k);
        return payload ? [payload] : [];
      });
  }

  /** Ends a grant: its tokens and codes stop working at once. */
  revokeGrant(grantId: string): void {
    for (const [k, entry] of this.entries) {
      if (entry.payload.grantId === grantId || (k.startsWith('Grant:') && entry.payload.jti === grantId))
        this.entries.delete(k);
    }
  }

  /** Ends every grant of an account (a user who signed out at the provider, or an expired sign-in). */
  revokeGrantsOf(sub: string): void {
    const grants = new Set(
      this.payloads('Grant')
        .filter((grant) => grant.accountId === sub)
        .flatMap((grant) => grant.jti ?? []),
    );
    for (const grantId of grants) this.revokeGrant(grantId);
  }
}

function signingKeys(): Configuration['jwks'] {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(action: string, title: string, hint: string | undefined, failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.4rem 0}input,button{padding:.5rem;font-size:1rem}.error{color:#b00020}</style>
</head><body>
<h1>Sign in to ${escapeHtml(title)}</h1>
${failed ? '<p class="error" role="alert">Wrong username or password.</p>' : ''}
<form method="post" action="${escapeHtml(action)}/login">
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(action)}/abort"><button type="submit">Cancel</button></form>
${hint ? `<p>${escapeHtml(hint)}</p>` : ''}
</body></html>`;
}

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The provider: the code flow with PKCE required, refresh tokens on every grant (rotated on every use, so
 * a refresh token works once), revocation, userinfo, and a login page. Consent is not asked: the one
 * client is the bank's own (first-party), so a grant of what it asked is made at sign-in
 * (`loadExistingGrant`, oidc-provider's recipe for skipping consent).
 */
export function createIdentityProvider(options: IdentityProviderOptions): IdentityProvider {
  const base = new URL(options.issuer).pathname.replace(/\/$/, '');
  const accessTtl = options.accessTokenTtl ?? 3600;
  const refreshTtl = options.refreshTokenTtl ?? THIRTY_DAYS;
  const title = options.title ?? 'Demo Bank';
  const store = new MemoryStore();
  const { client } = options;
  const accountBySub = new Map(options.accounts.map((account) => [account.sub, account]));

  const provider = new Provider(options.issuer, {
    adapter: store.adapter,
    clients: [
      {
        client_id: client.clientId,
        ...(client.clientSecret !== undefined ? { client_secret: client.clientSecret } : {}),
        redirect_uris: client.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: client.clientSecret !== undefined ? 'client_secret_basic' : 'none',
      },
    ],
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    findAccount: (_ctx, sub) => {
      const account = accountBySub.get(sub);
      if (account === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          preferred_username: account.username,
          ...(account.name ? { name: account.name } : {}),
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      // The client may revoke its own tokens, and only those.
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `${base}/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens outlive the browser session: the gateway keeps them, not the browser.
    expiresWithSession: () => false,
    ttl: {
      AccessToken: accessTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: refreshTtl,
      Grant: refreshTtl,
      RefreshToken: refreshTtl,
    },
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      const accountId = oidc.session?.accountId;
      if (accountId === undefined || oidc.client === undefined) return undefined;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId });
      grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
  });

  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction does not match its cookie');
    const page = `${base}/interaction/${uid}`;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(page, title, options.hint, false));
      return;
    }
    if (action === 'abort') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'the user cancelled the sign-in',
      });
      return;
    }
    const form = await formOf(req);
    const account = options.accounts.find(
      (a) => a.username === form.get('username') && a.password === form.get('password'),
    );
    if (account === undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(page, title, options.hint, true));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://idp').pathname;
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(path);
    const method = req.method ?? 'GET';
    const allowed = match && (match[2] === undefined ? method === 'GET' : method === 'POST');
    if (!match || !allowed) {
      callback(req, res);
      return;
    }
    interaction(req, res, match[1]!, match[2] ?? '').catch(() => {
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        'This sign-in has expired or is not valid. Go back to the conversation and ask for a new link.',
      );
    });
  }

  return { provider, handle, store };
}

export interface DemoIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The `sub` of the account a live access token was issued to: how the demo bank's API can check one. */
  accountOf(accessToken: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Listens on loopback (an own port) and answers with the server, its issuer and the port. */
export async function listenIdentityProvider(
  options: Omit<IdentityProviderOptions, 'issuer'> & { host?: string; port?: number },
): Promise<{ idp: IdentityProvider; issuer: string; server: Server }> {
  const host = options.host ?? '127.0.0.1';
  // The issuer names the port, so the provider is made once the server listens.
  const served: { handle?: IdentityProvider['handle'] } = {};
  const server = createServer((req, res) => served.handle!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}`;
  const idp = createIdentityProvider({ ...options, issuer });
  served.handle = idp.handle;
  return { idp, issuer, server };
}

/**
 * "Sign in with Demo Bank" for `npm start`'s sandbox: an OpenID provider on its own loopback port
 * (`http://127.0.0.1:<port>`, discovery at `/.well-known/openid-configuration`) whose accounts are the
 * demo bank's customers (alice / wonderland, bob / builder), each named by the bank's user id
 * (`u-alice`), so that an oauth component with `userNamespace: false` names the same user as the
 * bank's password login. The client secret is made per start.
 */
export async function startDemoIdentityProvider(opts: {
  /** Where the provider may send the browser back: the gateway's `<publicUrl>/oauth/callback`. */
  redirectUris: string[];
  port?: number;
  host?: string;
  clientId?: string;
  accessTokenTtl?: number;
}): Promise<DemoIdentityProvider> {
  const clientId = opts.clientId ?? 'switchboard-demo';
  const clientSecret = randomBytes(24).toString('base64url');
  const { idp, issuer, server } = await listenIdentityProvider({
    client: { clientId, clientSecret, redirectUris: opts.redirectUris },
    accounts: DEMO_ACCOUNTS.map((a) => ({
      username: a.username,
      password: a.password,
      sub: a.userId,
      name: a.username,
    })),
    title: 'Demo Bank',
    hint: 'Demo accounts: alice / wonderland, bob / builder.',
    ...(opts.accessTokenTtl !== undefined ? { accessTokenTtl: opts.accessTokenTtl } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  });
  return {
    issuer,
    clientId,
    clientSecret,
    accountOf: async (accessToken) => {
      const token = await idp.provider.AccessToken.find(accessToken);
      return token?.accountId;
    },
    close: () => closeServer(server),
  };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
