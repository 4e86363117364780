// A test-only link method, registered from outside src/, over a small authorization endpoint on loopback:
// until the oauth method and the real oidc-provider land, the sign-in pages are tested through it.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { z } from 'zod';
import { registerAuthMethod, type AuthMethod } from '../../../src/auth/index.js';
import { ComponentKeys } from '../../../src/auth/method.js';
import { listenOnLoopback } from '../../fakes/loopback.js';

const LoopbackLinkSchema = z.strictObject({
  type: z.literal('loopback-link'),
  /** The provider's base URL (its /authorize and /token). */
  provider: z.string(),
  displayName: z.string().optional(),
  binding: z.boolean().default(true),
  /** Begin fails as a provider's discovery does when the provider is away. */
  beginFails: z.boolean().default(false),
  linkTtl: z.int().positive().default(600),
  fields: z.array(z.never()).default([]),
  ...ComponentKeys,
});
type LoopbackLinkComponent = z.output<typeof LoopbackLinkSchema>;

const random = () => randomBytes(32).toString('base64url');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** Begin: the authorization URL with state, nonce and the S256 challenge. Complete: the state, the code's exchange, the nonce. */
export const loopbackLink: AuthMethod<LoopbackLinkComponent> = {
  type: 'loopback-link',
  schema: LoopbackLinkSchema,
  signIn: 'link',
  begin(_name, component, opts) {
    if (component.beginFails) return Promise.reject(new Error('the provider could not be reached'));
    const secrets = { state: random(), nonce: random(), codeVerifier: random() };
    const url = new URL('/authorize', component.provider);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'switchboard',
      redirect_uri: opts.redirectUri,
      state: secrets.state,
      nonce: secrets.nonce,
      code_challenge: s256(secrets.codeVerifier),
      code_challenge_method: 'S256',
    }).toString();
    return Promise.resolve({ url: url.toString(), secrets });
  },
  async complete(_name, component, opts, deps) {
    const query = new URL(opts.callbackUrl).searchParams;
    if (query.get('state') !== opts.secrets.state) return { result: 'refused', reason: 'state mismatch' };
    let answer;
    try {
      answer = await deps.http({
        method: 'POST',
        url: new URL('/token', component.provider).toString(),
        body: {
          code: query.get('code'),
          code_verifier: opts.secrets.codeVerifier,
          redirect_uri: opts.redirectUri,
        },
        timeoutMs: component.timeout * 1000,
      });
    } catch {
      return { result: 'unavailable', reason: 'the provider could not be reached' };
    }
    if (answer.status !== 200) return { result: 'refused', reason: 'invalid_grant' };
    const body = answer.json as { access_token: string; sub: string; nonce: string };
    if (body.nonce !== opts.secrets.nonce) return { result: 'refused', reason: 'nonce mismatch' };
    return { result: 'success', userId: body.sub, accessToken: body.access_token, ttlSeconds: 3600 };
  },
  linkSettings: (component) => ({
    linkText: 'Sign in: {{link}}',
    linkTtlSeconds: component.linkTtl,
    binding: component.binding,
    voiceHoldSeconds: 120,
    refreshTtlSeconds: 86_400,
  }),
  authenticate: () => Promise.resolve({ result: 'unavailable', reason: 'signs in by link' }),
};

registerAuthMethod(loopbackLink);

/** One authorization the endpoint saw, and the code it issued for it. */
export interface Authorization {
  query: Record<string, string>;
  code: string;
}

export interface LoopbackProvider {
  url: string;
  authorizations: Authorization[];
  /** Token requests answered, and how. */
  exchanges: { code: string; ok: boolean }[];
  close(): Promise<void>;
}

/** /authorize issues a code and redirects back; /token trades it once, for the right PKCE verifier. */
export async function startLoopbackProvider(user = 'provider-user-1'): Promise<LoopbackProvider> {
  const authorizations: Authorization[] = [];
  const exchanges: LoopbackProvider['exchanges'] = [];
  const issued = new Map<string, Authorization & { used: boolean }>();
  const app = express();
  app.get('/authorize', (req, res) => {
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)]));
    const code = random();
    const entry = { query, code };
    authorizations.push(entry);
    issued.set(code, { ...entry, used: false });
    const back = new URL(query.redirect_uri!);
    back.search = new URLSearchParams({ code, state: query.state! }).toString();
    res.redirect(302, back.toString());
  });
  app.post('/token', express.json(), (req, res) => {
    const { code, code_verifier: verifier } = req.body as { code: string; code_verifier: string };
    const found = issued.get(code);
    const ok = !!found && !found.used && s256(verifier) === found.query.code_challenge;
    exchanges.push({ code, ok });
    if (!found || !ok) return void res.status(400).json({ error: 'invalid_grant' });
    found.used = true;
    res.json({ access_token: `at-${random()}`, sub: user, nonce: found.query.nonce });
  });
  const server: Server = createServer(app);
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
