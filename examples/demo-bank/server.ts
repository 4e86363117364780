// A small demo bank for sandbox mode: an auth service, a verification endpoint and a protected API.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

interface Account {
  username: string;
  password: string;
  memberId: string;
  pin: string;
  userId: string;
  balance: string;
  currency: string;
  lastPayment: { amount: string; payee: string };
}

/** Demo customers: try alice / wonderland, or member 1001 with PIN 4321. */
export const DEMO_ACCOUNTS: Account[] = [
  {
    username: 'alice',
    password: 'wonderland',
    memberId: '1001',
    pin: '4321',
    userId: 'u-alice',
    balance: '1,234.56',
    currency: 'USD',
    lastPayment: { amount: '42.00 USD', payee: 'City Power' },
  },
  {
    username: 'bob',
    password: 'builder',
    memberId: '1002',
    pin: '8765',
    userId: 'u-bob',
    balance: '87.10',
    currency: 'EUR',
    lastPayment: { amount: '12.50 EUR', payee: 'Corner Bakery' },
  },
];

const TOKEN_TTL = 3600;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function send(res: ServerResponse, status: number, value: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

export interface DemoBankOptions {
  port: number;
  host?: string;
  /**
   * Another issuer's access tokens the protected API takes (the demo's "Sign in with Demo Bank"): the
   * bank user id (`u-alice`) a live token belongs to, or undefined for a token it does not know.
   */
  acceptToken?: (token: string) => Promise<string | undefined>;
}

export async function startDemoBank(options: DemoBankOptions) {
  const tokens = new Map<string, { account: Account; expiresAt: number }>();
  const bearer = async (req: IncomingMessage): Promise<Account | undefined> => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    const entry = tokens.get(token);
    if (entry) return entry.expiresAt > Date.now() ? entry.account : undefined;
    const userId = await options.acceptToken?.(token).catch(() => undefined);
    return userId === undefined ? undefined : DEMO_ACCOUNTS.find((a) => a.userId === userId);
  };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://demo').pathname;
    if (req.method === 'POST' && path === '/auth/token') {
      const body = await readJson(req);
      const account = DEMO_ACCOUNTS.find((a) => a.username === body.username && a.password === body.password);
      if (!account) return send(res, 401, { error: 'invalid_credentials' });
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, { account, expiresAt: Date.now() + TOKEN_TTL * 1000 });
      return send(res, 200, { access_token: token, expires_in: TOKEN_TTL, user: { id: account.userId } });
    }
    if (req.method === 'POST' && path === '/auth/verify') {
      const body = await readJson(req);
      const account = DEMO_ACCOUNTS.find((a) => a.memberId === body.auth_id && a.pin === body.auth_code);
      return send(res, 200, { status: Boolean(account) });
    }
    if (req.method === 'GET' && path === '/api/balance') {
      const account = await bearer(req);
      if (!account) return send(res, 401, { error: 'invalid_token' });
      return send(res, 200, { data: { balance: account.balance, currency: account.currency } });
    }
    if (req.method === 'POST' && path === '/api/balance/member') {
      // A caller's balance: by member number and PIN (what member-pin verified), keyed on the phone.
      const body = await readJson(req);
      const account = DEMO_ACCOUNTS.find((a) => a.memberId === body.member && a.pin === body.token);
      if (!account) return send(res, 401, { error: 'invalid_member' });
      return send(res, 200, { data: { balance: account.balance, currency: account.currency } });
    }
    if (req.method === 'POST' && path === '/api/payments/last') {
      const body = await readJson(req);
      const account = DEMO_ACCOUNTS.find((a) => a.memberId === body.member && a.pin === body.token);
      if (!account) return send(res, 401, { error: 'invalid_member' });
      return send(res, 200, account.lastPayment);
    }
    send(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
