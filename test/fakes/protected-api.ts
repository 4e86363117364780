// A fake operator bank on loopback: a login endpoint that issues tokens and a balance endpoint that demands one.
import { randomBytes } from 'node:crypto';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from './operator-api.js';

export interface BankAccount {
  password: string;
  /** The id the login answer carries at `user.id` (the component's `userIdPath`). */
  userId: string;
}

export interface FakeProtectedApi {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The underlying fake server (every request it received is in `api.requests`). */
  readonly api: FakeOperatorApi;
  /** The Bearer token of every `GET /api/balance`, accepted or not, in order. */
  readonly balanceTokens: string[];
  /** The usernames of every `POST /auth/token`, right or wrong, in order. */
  readonly logins: string[];
  /** Adds a customer who can log in. */
  addAccount(username: string, account: BankAccount): void;
  /** Makes a token good for the balance (one the operator issued itself and registered through the API). */
  accept(token: string): void;
  close(): Promise<void>;
}

/** The balance every accepted token gets. */
export const BALANCE = { balance: '120.50', currency: 'EUR' } as const;

export async function startFakeProtectedApi(): Promise<FakeProtectedApi> {
  const accounts = new Map<string, BankAccount>();
  const good = new Set<string>();
  const balanceTokens: string[] = [];
  const logins: string[] = [];
  const api = await startFakeOperatorApi({
    'POST /auth/token': (req, res) => {
      let body: { username?: unknown; password?: unknown } = {};
      try {
        body = JSON.parse(req.body) as typeof body;
      } catch {
        // a body that is not JSON is a wrong login like any other
      }
      const username = typeof body.username === 'string' ? body.username : '';
      logins.push(username);
      const account = accounts.get(username);
      if (!account || body.password !== account.password) {
        sendJson(res, 401, { error: 'invalid_grant' });
        return;
      }
      const token = `bank-${randomBytes(8).toString('hex')}`;
      good.add(token);
      sendJson(res, 200, { access_token: token, expires_in: 3600, user: { id: account.userId } });
    },
    'GET /api/balance': (req, res) => {
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      balanceTokens.push(token);
      if (!good.has(token)) sendJson(res, 401, { error: 'invalid_token' });
      else sendJson(res, 200, { data: BALANCE });
    },
  });
  return {
    url: api.url,
    api,
    balanceTokens,
    logins,
    addAccount: (username, account) => accounts.set(username, account),
    accept: (token) => good.add(token),
    close: () => api.close(),
  };
}
