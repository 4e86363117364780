// Sign-in link tests: a bank bot whose balance needs an oauth sign-in at a real oidc-provider, a protected
// API that checks the provider's tokens, and a sign-in walked over plain HTTP as a phone's browser would.
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from '../../fakes/loopback.js';
import { signInWithoutBrowser, type TestProvider } from '../../support/oidc-provider.js';
import { NUMBERS, botOn } from '../dialog/helpers.js';

export const TEXT = {
  link: (link: string) => `Tap to sign in securely: ${link}`,
  typeCode: "You're signed in on the page. To finish, type here the 6-digit code it shows.",
  enterCode: "You're signed in. Enter the 6-digit code shown on the page.",
  texted: "I've sent you a sign-in link by text message. Open it on your phone and stay on the line.",
  signedIn: "You're signed in.",
  balance: (sub: string) => `Your balance is 100.00 USD for ${sub}.`,
  wrongCode: (left: number) =>
    `Sorry, that code doesn't match. ${left} ${left === 1 ? 'try' : 'tries'} left.`,
  timedOut: "I didn't see you sign in.",
  fallback: "Let's use your PIN instead.",
} as const;

/** The link a reply carries. */
export function linkIn(text: string): string {
  const link = /(https?:\/\/\S+\/s\/[A-Za-z0-9_-]+)/.exec(text)?.[1];
  if (!link) throw new Error(`no sign-in link in "${text}"`);
  return link;
}

/** A protected API that takes only the provider's live access tokens and says whose balance it is. */
export interface BankApi {
  url: string;
  /** The bearer tokens presented, in order. */
  seen: string[];
  /** Answers this many more requests 401 whatever the token (a token the API stopped taking). */
  rejectNext: number;
  close(): Promise<void>;
}

export async function startBankApi(idp: TestProvider): Promise<BankApi> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token) seen.push(token);
      const rejected = api.rejectNext > 0;
      if (rejected) api.rejectNext -= 1;
      const sub = token && !rejected ? await idp.accountOf(token) : undefined;
      res.writeHead(sub ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(sub ? { balance: '100.00 USD', sub } : { error: 'invalid_token' }));
    })();
  });
  const port = await listenOnLoopback(server);
  const api: BankApi = {
    url: `http://127.0.0.1:${port}`,
    seen,
    rejectNext: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return api;
}

/** The bank bot: every message (and every call) asks for the balance, which needs the oauth sign-in. */
export function linkBot(o: {
  idp: TestProvider;
  api: string;
  binding?: boolean;
  holdLimit?: number;
  /** The bot's sessionTimeout (seconds); default the gateway's. */
  sessionTimeout?: number;
  more?: string;
}): string {
  return botOn(
    'bank',
    `${
      o.sessionTimeout !== undefined
        ? `    sessionTimeout: ${o.sessionTimeout}
`
        : ''
    }    auth:
      bank-oauth:
        type: oauth
        issuer: ${o.idp.issuer}
        clientId: ${o.idp.clientId}
        clientSecret: ${o.idp.clientSecret}
        scopes: [openid, offline_access]
        binding: ${o.binding ?? true}
        voice: { holdLimit: ${o.holdLimit ?? 60}, fallbackFlow: pin }${o.more ?? ''}
    flows:
      main:
        - request:
            url: ${o.api}/api/balance
            headers: { Authorization: "Bearer {{authtoken}}" }
            auth: bank-oauth
            save: { balance: balance, sub: sub }
        - end: "Your balance is {{balance}} for {{sub}}."
      pin:
        - end: "${TEXT.fallback}"`,
    NUMBERS,
  );
}

/** Cookies of one browser on the gateway (the sign-in cookie), as a phone's browser keeps them. */
export class GatewayBrowser {
  private cookie = '';

  /** The link's page, as a link preview fetches it. */
  async preview(link: string): Promise<{ status: number; html: string }> {
    const res = await fetch(link, { redirect: 'manual' });
    return { status: res.status, html: await res.text() };
  }

  /**
   * Taps Continue, signs in at the provider, and comes back to the callback: the page the gateway shows
   * then, and the binding code on it (when there is one).
   */
  async signIn(
    link: string,
    as: { username: string; password: string },
  ): Promise<{ status: number; html: string; code: string | undefined }> {
    const tapped = await fetch(link, { method: 'POST', redirect: 'manual' });
    const set = tapped.headers.getSetCookie().map((c) => c.split(';')[0]!);
    if (set.length) this.cookie = set.join('; ');
    const location = tapped.headers.get('location');
    if (tapped.status !== 303 || !location)
      throw new Error(`Continue answered ${tapped.status}: ${await tapped.text()}`);
    const callback = await signInWithoutBrowser(location, as);
    return this.callback(callback);
  }

  /** Opens a callback URL in this browser. */
  async callback(url: string): Promise<{ status: number; html: string; code: string | undefined }> {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: this.cookie } });
    const html = await res.text();
    const code = /class="code">(\d{3}) (\d{3})</.exec(html);
    return { status: res.status, html, code: code ? `${code[1]}${code[2]}` : undefined };
  }
}
