// A fake operator bank on loopback: a login service that issues expiring tokens, a verify endpoint, and a protected API.
import { listenOnLoopback } from './loopback.js';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FakeAccount {
  username: string;
  password: string;
  /** What the login answer gives as `user.id`. */
  userId: string;
  /** The verify component's `auth_id` and `auth_code`, when the account has them. */
  memberId?: string;
  pin?: string;
  balance?: string;
  currency?: string;
  lastPayment?: { amount: string; payee: string };
}

/**
 * How the auth endpoints (login and verify) behave; the protected API always answers.
 * `down`: the connection is dropped without an answer; `error`: 500; `slow`: answers after `delayMs`.
 */
export type AuthServiceMode = 'up' | 'down' | 'error' | 'slow';

export interface IssuedToken {
  token: string;
  /** 1, 2, 3… in order of issue: the protected API reports it, so replies show which login a call used. */
  serial: number;
  userId: string;
  expiresAt: number;
  revoked: boolean;
}

/** What an auth endpoint did with a request: `held` while a slow answer is still to come. */
export type AuthAnswer = number | 'dropped' | 'held';

export interface LoginRecord {
  username: string;
  /** Whether the credentials matched (the password itself is not kept). */
  ok: boolean;
  status: AuthAnswer;
}

export interface VerifyRecord {
  authId: string;
  ok: boolean;
  status: AuthAnswer;
}

export interface ApiCall {
  method: string;
  path: string;
  /** The bearer token presented, if any. */
  token: string | undefined;
  /** The JSON body, parsed. */
  body: unknown;
  status: number;
  /** The serial of the token presented, when the service issued it. */
  serial?: number;
}

export interface FakeAuthService {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Login attempts (POST /auth/token), oldest first. */
  readonly logins: LoginRecord[];
  /** Verification calls (POST /auth/verify), oldest first. */
  readonly verifies: VerifyRecord[];
  /** Calls to the protected API, oldest first. */
  readonly apiCalls: ApiCall[];
  /** Every token issued, oldest first. */
  readonly issued: IssuedToken[];
  /** Seconds the next tokens live (`expires_in`); default 3600. */
  expiresIn: number;
  /** Changes how the auth endpoints behave from the next request on. */
  setMode(mode: AuthServiceMode, delayMs?: number): void;
  /** The protected API answers 401 for this token from now on. */
  revoke(token: string): void;
  /** Revokes every token issued to a user. */
  revokeUser(userId: string): void;
  /** The newest token issued to a user. */
  latestToken(userId: string): IssuedToken | undefined;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeAuthService(accounts: FakeAccount[]): Promise<FakeAuthService> {
  const logins: LoginRecord[] = [];
  const verifies: VerifyRecord[] = [];
  const apiCalls: ApiCall[] = [];
  const issued: IssuedToken[] = [];
  const byToken = new Map<string, IssuedToken>();
  let mode: AuthServiceMode = 'up';
  let delayMs = 0;
  const held = new Set<NodeJS.Timeout>();

  const later = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        resolve();
      }, ms);
      held.add(timer);
    });

  /** Applies the mode to an auth endpoint: "go", or what already happened to the request (dropped, answered). */
  async function authGate(res: ServerResponse, req: IncomingMessage): Promise<'go' | 500 | 'dropped'> {
    if (mode === 'down') {
      req.socket.destroy();
      return 'dropped';
    }
    if (mode === 'error') {
      sendJson(res, 500, { error: 'internal_error' });
      return 500;
    }
    if (mode === 'slow') await later(delayMs);
    return 'go';
  }

  const fakeService = {
    expiresIn: 3600,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const json = parseJson(raw);

    if (req.method === 'POST' && path === '/auth/token') {
      // Recorded on arrival, so a request held by a slow service is seen at once.
      const login: LoginRecord = {
        username: typeof json?.username === 'string' ? json.username : '',
        ok: false,
        status: 'held',
      };
      logins.push(login);
      const gate = await authGate(res, req);
      if (gate !== 'go') {
        login.status = gate;
        return;
      }
      if (typeof json?.username !== 'string' || typeof json.password !== 'string') {
        login.status = 400;
        return sendJson(res, 400, { error: 'invalid_request' });
      }
      const account = accounts.find((a) => a.username === json.username && a.password === json.password);
      if (!account) {
        login.status = 401;
        return sendJson(res, 401, { error: 'invalid_grant' });
      }
      const expiresIn = fakeService.expiresIn;
      const entry: IssuedToken = {
        token: `tok-${randomBytes(18).toString('base64url')}`,
        serial: issued.length + 1,
        userId: account.userId,
        expiresAt: Date.now() + expiresIn * 1000,
        revoked: false,
      };
      issued.push(entry);
      byToken.set(entry.token, entry);
      Object.assign(login, { ok: true, status: 200 });
      return sendJson(res, 200, {
        access_token: entry.token,
        token_type: 'Bearer',
        expires_in: expiresIn,
        user: { id: account.userId },
      });
    }

    if (req.method === 'POST' && path === '/auth/verify') {
      const verify: VerifyRecord = {
        authId: typeof json?.auth_id === 'string' ? json.auth_id : '',
        ok: false,
        status: 'held',
      };
      verifies.push(verify);
      const gate = await authGate(res, req);
      if (gate !== 'go') {
        verify.status = gate;
        return;
      }
      if (typeof json?.auth_id !== 'string' || typeof json.auth_code !== 'string') {
        verify.status = 400;
        return sendJson(res, 400, { error: 'invalid_request' });
      }
      const member = accounts.find((a) => a.memberId === json.auth_id && a.pin === json.auth_code);
      Object.assign(verify, { ok: member !== undefined, status: 200 });
      // A verified member's user id comes with the yes, for a component's `userIdPath: member.id`.
      return sendJson(res, 200, member ? { status: true, member: { id: member.userId } } : { status: false });
    }

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const record = (status: number, serial?: number) =>
      apiCalls.push({
        method: req.method ?? '',
        path,
        token,
        body: json,
        status,
        ...(serial !== undefined ? { serial } : {}),
      });

    if (req.method === 'GET' && path === '/api/balance') {
      const entry = token ? byToken.get(token) : undefined;
      if (!entry || entry.revoked || entry.expiresAt <= Date.now()) {
        record(401, entry?.serial);
        return sendJson(res, 401, { error: 'invalid_token' });
      }
      const account = accounts.find((a) => a.userId === entry.userId);
      record(200, entry.serial);
      return sendJson(res, 200, {
        data: {
          balance: account?.balance ?? '0.00',
          currency: account?.currency ?? 'USD',
          login: entry.serial,
        },
      });
    }

    if (req.method === 'POST' && path === '/api/payments/last') {
      // A verify component's token is the member's code: the API checks the pair it is given.
      const account = accounts.find((a) => a.memberId === json?.member && a.pin === json?.token);
      if (!account) {
        record(401);
        return sendJson(res, 401, { error: 'invalid_member' });
      }
      record(200);
      return sendJson(res, 200, account.lastPayment ?? { amount: '0.00 USD', payee: 'nobody' });
    }

    sendJson(res, 404, { error: 'not_found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'fake failed' });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    logins,
    verifies,
    apiCalls,
    issued,
    get expiresIn() {
      return fakeService.expiresIn;
    },
    set expiresIn(seconds: number) {
      fakeService.expiresIn = seconds;
    },
    setMode(next, ms = 0) {
      mode = next;
      delayMs = ms;
    },
    revoke(token) {
      const entry = byToken.get(token);
      if (!entry) throw new Error('the fake auth service never issued that token');
      entry.revoked = true;
    },
    revokeUser(userId) {
      for (const entry of issued) if (entry.userId === userId) entry.revoked = true;
    },
    latestToken(userId) {
      return issued.filter((t) => t.userId === userId).at(-1);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
