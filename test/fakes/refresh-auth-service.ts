// A fake operator auth service with refresh tokens on loopback: login, refresh (rotating or not), a protected
// API, and a plain endpoint each turn calls first, so a test can tell when every turn is under way.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.js';

export interface RefreshAccount {
  username: string;
  password: string;
  userId: string;
}

export interface IssuedPair {
  accessToken: string;
  refreshToken: string;
  userId: string;
  /** 1, 2, 3… in order of issue; the protected API answers it, so a reply shows which token it saw. */
  serial: number;
}

export interface RefreshCall {
  /** The refresh token presented. */
  refreshToken: string;
  status: number;
}

export interface ProtectedCall {
  token: string | undefined;
  status: number;
}

export interface RefreshAuthService {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly logins: { username: string; status: number }[];
  readonly refreshes: RefreshCall[];
  readonly apiCalls: ProtectedCall[];
  /** Revocations (`POST /auth/revoke`): the tokens each named. */
  readonly revocations: { accessToken?: string; refreshToken?: string }[];
  /** `POST /auth/refresh` answers 500 (the service is in trouble). */
  refreshFails: boolean;
  /** `POST /auth/revoke` never answers (a provider that hangs). */
  revokeHangs: boolean;
  /** Calls of `GET /api/hello` (no token): how many turns are under way. */
  readonly hellos: number;
  readonly issued: IssuedPair[];
  /** Whether a refresh gives a new refresh token (and voids the old one); default true. */
  rotate: boolean;
  /** Seconds in `expires_in` and `refresh_expires_in` of the next answers. */
  expiresIn: number;
  refreshExpiresIn: number;
  /** Refresh answers wait until this many hello calls arrived (0: at once). */
  holdRefreshUntilHellos: number;
  /** Protected API answers wait until this many calls of it arrived in all (0: at once). */
  holdApiUntilCalls: number;
  /** The protected API answers 401 to the next `n` calls, whatever the token. */
  refuseNext(n: number): void;
  /** A token pair issued without a login (what a test seeds the cache with). */
  issue(userId: string): IssuedPair;
  /** Voids a refresh token: presenting it answers 400 invalid_grant. */
  voidRefreshToken(token: string): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function startRefreshAuthService(accounts: RefreshAccount[]): Promise<RefreshAuthService> {
  const logins: RefreshAuthService['logins'] = [];
  const refreshes: RefreshCall[] = [];
  const apiCalls: ProtectedCall[] = [];
  const issued: IssuedPair[] = [];
  const byAccess = new Map<string, IssuedPair>();
  const liveRefresh = new Map<string, string>(); // refresh token → user id
  let hellos = 0;
  let refusals = 0;
  const helloWaiters: (() => void)[] = [];
  let arrivals = 0;
  const apiWaiters: (() => void)[] = [];
  const revocations: RefreshAuthService['revocations'] = [];
  let revokeHangs = false;
  let refreshFails = false;
  const settings = {
    rotate: true,
    expiresIn: 3600,
    refreshExpiresIn: 86_400,
    holdRefreshUntilHellos: 0,
    holdApiUntilCalls: 0,
  };

  const issue = (userId: string): IssuedPair => {
    const pair: IssuedPair = {
      accessToken: `acc-${randomBytes(18).toString('base64url')}`,
      refreshToken: `ref-${randomBytes(18).toString('base64url')}`,
      userId,
      serial: issued.length + 1,
    };
    issued.push(pair);
    byAccess.set(pair.accessToken, pair);
    liveRefresh.set(pair.refreshToken, userId);
    return pair;
  };
  const answer = (pair: IssuedPair, withRefresh: boolean) => ({
    access_token: pair.accessToken,
    expires_in: settings.expiresIn,
    ...(withRefresh
      ? { refresh_token: pair.refreshToken, refresh_expires_in: settings.refreshExpiresIn }
      : {}),
    user: { id: pair.userId },
  });
  const enoughHellos = () =>
    new Promise<void>((resolve) => {
      if (hellos >= settings.holdRefreshUntilHellos) resolve();
      else helloWaiters.push(resolve);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const json = await readJson(req);
    if (req.method === 'POST' && path === '/auth/token') {
      const account = accounts.find((a) => a.username === json?.username && a.password === json?.password);
      logins.push({
        username: typeof json?.username === 'string' ? json.username : '',
        status: account ? 200 : 401,
      });
      if (!account) return sendJson(res, 401, { error: 'invalid_grant' });
      return sendJson(res, 200, answer(issue(account.userId), true));
    }
    if (req.method === 'POST' && path === '/auth/refresh') {
      const presented = typeof json?.refresh_token === 'string' ? json.refresh_token : '';
      const call: RefreshCall = { refreshToken: presented, status: 0 };
      refreshes.push(call);
      await enoughHellos();
      if (refreshFails) {
        call.status = 500;
        return sendJson(res, 500, { error: 'server_error' });
      }
      const userId = liveRefresh.get(presented);
      if (userId === undefined) {
        call.status = 400;
        return sendJson(res, 400, { error: 'invalid_grant' });
      }
      const pair = issue(userId);
      if (settings.rotate) liveRefresh.delete(presented);
      else {
        // Not rotating: the same refresh token stays the user's, and no new one is sent.
        liveRefresh.delete(pair.refreshToken);
        pair.refreshToken = presented;
      }
      call.status = 200;
      return sendJson(res, 200, answer(pair, settings.rotate));
    }
    if (req.method === 'POST' && path === '/auth/revoke') {
      revocations.push({
        ...(typeof json?.access_token === 'string' ? { accessToken: json.access_token } : {}),
        ...(typeof json?.refresh_token === 'string' ? { refreshToken: json.refresh_token } : {}),
      });
      if (revokeHangs) return; // the connection stays open until the fake closes
      return sendJson(res, 200, {});
    }
    if (req.method === 'GET' && path === '/api/hello') {
      hellos++;
      if (hellos >= settings.holdRefreshUntilHellos) for (const wake of helloWaiters.splice(0)) wake();
      return sendJson(res, 200, { hello: 'there' });
    }
    if (req.method === 'GET' && path === '/api/balance') {
      arrivals++;
      if (arrivals >= settings.holdApiUntilCalls) for (const wake of apiWaiters.splice(0)) wake();
      else await new Promise<void>((resolve) => apiWaiters.push(resolve));
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const pair = token ? byAccess.get(token) : undefined;
      if (!pair || refusals > 0) {
        if (refusals > 0) refusals--;
        apiCalls.push({ token, status: 401 });
        return sendJson(res, 401, { error: 'invalid_token' });
      }
      apiCalls.push({ token, status: 200 });
      return sendJson(res, 200, { balance: '1,234.56', serial: pair.serial });
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
    refreshes,
    apiCalls,
    issued,
    revocations,
    get refreshFails() {
      return refreshFails;
    },
    set refreshFails(value) {
      refreshFails = value;
    },
    get revokeHangs() {
      return revokeHangs;
    },
    set revokeHangs(value) {
      revokeHangs = value;
    },
    get hellos() {
      return hellos;
    },
    get rotate() {
      return settings.rotate;
    },
    set rotate(value) {
      settings.rotate = value;
    },
    get expiresIn() {
      return settings.expiresIn;
    },
    set expiresIn(value) {
      settings.expiresIn = value;
    },
    get refreshExpiresIn() {
      return settings.refreshExpiresIn;
    },
    set refreshExpiresIn(value) {
      settings.refreshExpiresIn = value;
    },
    get holdRefreshUntilHellos() {
      return settings.holdRefreshUntilHellos;
    },
    set holdRefreshUntilHellos(value) {
      settings.holdRefreshUntilHellos = value;
    },
    get holdApiUntilCalls() {
      return settings.holdApiUntilCalls;
    },
    set holdApiUntilCalls(value) {
      arrivals = 0;
      settings.holdApiUntilCalls = value;
    },
    refuseNext(n) {
      refusals = n;
    },
    issue,
    voidRefreshToken(token) {
      liveRefresh.delete(token);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...helloWaiters.splice(0), ...apiWaiters.splice(0)]) wake();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
