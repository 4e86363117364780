// A fake Twilio REST API on loopback: the real `twilio` client sends replies to it, tests script its failures.
import { listenOnLoopback } from './loopback.js';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A message Twilio accepted (answered 201), as it arrived. */
export interface FakeTwilioMessage {
  sid: string;
  /** The account in the URL path. */
  accountSid: string;
  /** The user name of the Basic auth header: the account the client authenticated as. */
  authAccount: string | undefined;
  to: string;
  from: string;
  body: string | undefined;
  contentSid: string | undefined;
  /** Every form field, as sent. */
  params: Record<string, string>;
  at: number;
}

/** A call Twilio accepted to place (answered 201), as it was asked for. */
export interface FakeTwilioCall {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  /** Where Twilio would ask for the answered call's TwiML. */
  url: string | undefined;
  statusCallback: string | undefined;
  /** Every StatusCallbackEvent given (the field repeats). */
  statusCallbackEvents: string[];
  /** Every form field, as sent (a repeated one: its last value). */
  params: Record<string, string>;
  at: number;
}

/** Every request the fake received, including the ones it refused. */
export interface FakeTwilioRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  authAccount: string | undefined;
  /** What the fake answered. */
  status: number;
}

/** A content resource created through the Content API (`POST /v1/Content`), as it arrived. */
export interface FakeTwilioContent {
  sid: string;
  /** The user name of the Basic auth header. */
  authAccount: string;
  /** The JSON body, as sent: `friendly_name`, `language`, `types`. */
  request: Record<string, unknown>;
}

/** A scripted answer for one message creation that Twilio refuses. */
export interface FakeTwilioFailure {
  status: number;
  /** Twilio's error code; a plausible one for the status when left out. */
  code?: number;
  message?: string;
}

export interface FakeTwilioApi {
  /** http://127.0.0.1:PORT: put it in the configuration as `twilio.apiBaseUrl`. */
  readonly url: string;
  /** Messages accepted (201), oldest first. */
  readonly messages: FakeTwilioMessage[];
  /** Every request, oldest first. */
  readonly requests: FakeTwilioRequest[];
  /** Calls accepted (201) through POST .../Calls.json, oldest first. */
  readonly calls: FakeTwilioCall[];
  /** The next call creations are answered with these failures, in order. */
  failNextCall(...failures: FakeTwilioFailure[]): void;
  /** Message sids deleted with DELETE .../Messages/:sid.json. */
  readonly deleted: string[];
  /** Accepted messages to one address (`+1…` or `whatsapp:+…`), oldest first. */
  messagesTo(to: string): FakeTwilioMessage[];
  /** Requests to create a message for one address, accepted or not, oldest first. */
  attemptsTo(to: string): FakeTwilioRequest[];
  /** The next message creations (whatever their address) are answered with these failures, in order. */
  failNext(...failures: FakeTwilioFailure[]): void;
  /** Resolves as soon as `count` messages to `to` were accepted (with the first `count`); rejects on timeout. */
  waitForMessages(to: string, count: number, timeoutMs?: number): Promise<FakeTwilioMessage[]>;
  /** Resolves when `count` messages were accepted in all (with the first `count`); rejects on timeout. */
  waitForTotal(count: number, timeoutMs?: number): Promise<FakeTwilioMessage[]>;
  /**
   * The next message creation waits, unanswered and not yet accepted, until `release()`: a reply caught
   * in the middle of its send. `arrived` resolves when it is waiting.
   */
  holdNext(): { arrived: Promise<void>; release: () => void };
  // --- the Content API (content.twilio.com, `choose` on WhatsApp) ---
  /** Content resources created (201), oldest first. */
  readonly contents: FakeTwilioContent[];
  /** Every request to the Content API, accepted or not, oldest first. */
  readonly contentRequests: FakeTwilioRequest[];
  /** The next content creations are answered with these failures, in order. */
  failNextContent(...failures: FakeTwilioFailure[]): void;
  /** Forgets what was received and any scripted failures. */
  reset(): void;
  close(): Promise<void>;
}

const MESSAGES = /^\/2010-04-01\/Accounts\/(AC[0-9a-zA-Z]+)\/Messages\.json$/;
const CALLS = /^\/2010-04-01\/Accounts\/(AC[0-9a-zA-Z]+)\/Calls\.json$/;
const MESSAGE = /^\/2010-04-01\/Accounts\/(AC[0-9a-zA-Z]+)\/Messages\/((?:SM|MM)[0-9a-zA-Z]+)\.json$/;

/** Twilio's error codes for the statuses tests script. */
const DEFAULT_CODES: Record<number, { code: number; message: string }> = {
  400: { code: 21211, message: "Invalid 'To' Phone Number" },
  401: { code: 20003, message: 'Authenticate' },
  404: { code: 20404, message: 'The requested resource was not found' },
  429: { code: 20429, message: 'Too Many Requests' },
  500: { code: 20500, message: 'Internal Server Error' },
  503: { code: 20503, message: 'Service Unavailable' },
};

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Twilio's error body: `{code, message, more_info, status}`. */
function sendError(res: ServerResponse, failure: FakeTwilioFailure): void {
  const known = DEFAULT_CODES[failure.status];
  const code = failure.code ?? known?.code ?? 20001;
  sendJson(res, failure.status, {
    code,
    message: failure.message ?? known?.message ?? 'Error',
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status: failure.status,
  });
}

function basicAuthUser(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function describe(messages: FakeTwilioMessage[]): string {
  if (messages.length === 0) return '(nothing)';
  return messages
    .map((m) => `  ${m.to} <- ${JSON.stringify(m.body ?? `[template ${m.contentSid}]`)}`)
    .join('\n');
}

/**
 * Starts the fake. `accounts` maps account sids to auth tokens: a request with other credentials gets
 * Twilio's 401 (error 20003), so tests also prove the sender authenticates as the right account.
 */
export async function startFakeTwilioApi(accounts: Record<string, string>): Promise<FakeTwilioApi> {
  const messages: FakeTwilioMessage[] = [];
  const requests: FakeTwilioRequest[] = [];
  const deleted: string[] = [];
  const failures: FakeTwilioFailure[] = [];
  const calls: FakeTwilioCall[] = [];
  const callFailures: FakeTwilioFailure[] = [];
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  let hold: ((proceed: () => void) => void) | undefined;

  // --- the Content API: JSON in, a content resource out ---
  const contents: FakeTwilioContent[] = [];
  const contentRequests: FakeTwilioRequest[] = [];
  const contentFailures: FakeTwilioFailure[] = [];
  function handleContent(req: IncomingMessage, res: ServerResponse, path: string, raw: string): void {
    const auth = basicAuthUser(req);
    const record = (status: number) =>
      contentRequests.push({ method: req.method ?? '', path, params: {}, authAccount: auth?.user, status });
    if (!auth || accounts[auth.user] !== auth.password) {
      record(401);
      return sendError(res, { status: 401 });
    }
    if (req.method !== 'POST') {
      record(405);
      return sendError(res, { status: 405, code: 20004, message: 'Method not allowed' });
    }
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      record(400);
      return sendError(res, { status: 400, code: 20001, message: 'Invalid JSON' });
    }
    if (typeof request.types !== 'object' || request.types === null) {
      record(400);
      return sendError(res, { status: 400, code: 20001, message: 'types is required' });
    }
    const scripted = contentFailures.shift();
    if (scripted) {
      record(scripted.status);
      return sendError(res, scripted);
    }
    record(201);
    const sid = `HX${randomBytes(16).toString('hex')}`;
    contents.push({ sid, authAccount: auth.user, request });
    const now = new Date().toISOString();
    sendJson(res, 201, {
      sid,
      account_sid: auth.user,
      friendly_name: request.friendly_name ?? null,
      language: request.language ?? 'en',
      variables: request.variables ?? {},
      types: request.types,
      date_created: now,
      date_updated: now,
      url: `https://content.twilio.com/v1/Content/${sid}`,
      links: {},
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    if (path === '/v1/Content') return handleContent(req, res, path, raw);
    const params = Object.fromEntries(new URLSearchParams(raw));
    const auth = basicAuthUser(req);
    const record = (status: number) =>
      requests.push({ method: req.method ?? '', path, params, authAccount: auth?.user, status });

    const placeCall = CALLS.exec(path);
    if (placeCall) return handleCall(req, res, raw, placeCall[1]!, path, auth, record);
    const create = MESSAGES.exec(path);
    const single = MESSAGE.exec(path);
    const accountSid = create?.[1] ?? single?.[1];
    if (!accountSid || (!create && !single)) {
      record(404);
      return sendError(res, { status: 404 });
    }
    if (!auth || auth.user !== accountSid || accounts[accountSid] !== auth.password) {
      record(401);
      return sendError(res, { status: 401 });
    }

    if (single && req.method === 'DELETE') {
      record(204);
      deleted.push(single[2]!);
      res.writeHead(204).end();
      return;
    }
    if (!create || req.method !== 'POST') {
      record(405);
      return sendError(res, { status: 405, code: 20004, message: 'Method not allowed' });
    }
    if (!params.To || !params.From || (!params.Body && !params.ContentSid && !params.MediaUrl)) {
      record(400);
      return sendError(res, {
        status: 400,
        code: 21602,
        message: 'Message body is required.',
      });
    }
    if (hold) {
      const held = hold;
      hold = undefined;
      return held(() => handle(req, res, raw));
    }
    const scripted = failures.shift();
    if (scripted) {
      record(scripted.status);
      return sendError(res, scripted);
    }
    record(201);
    const now = new Date();
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const message: FakeTwilioMessage = {
      sid,
      accountSid,
      authAccount: auth.user,
      to: params.To,
      from: params.From,
      body: params.Body,
      contentSid: params.ContentSid,
      params,
      at: now.getTime(),
    };
    messages.push(message);
    // The fields and shapes of Twilio's Message resource, as messages.create receives them.
    sendJson(res, 201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: params.Body ?? '',
      date_created: now.toUTCString(),
      date_sent: null,
      date_updated: now.toUTCString(),
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: params.From,
      messaging_service_sid: params.MessagingServiceSid ?? null,
      num_media: '0',
      num_segments: String(Math.max(1, Math.ceil((params.Body ?? '').length / 153))),
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to: params.To,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
    arrivals.emit('message', message);
  }

  /** POST .../Calls.json: checked as Twilio does (To, From, and Url or Twiml), answered with a Call resource. */
  function handleCall(
    req: IncomingMessage,
    res: ServerResponse,
    raw: string,
    accountSid: string,
    path: string,
    auth: { user: string; password: string } | undefined,
    record: (status: number) => void,
  ): void {
    const form = new URLSearchParams(raw);
    const params = Object.fromEntries(form);
    if (!auth || auth.user !== accountSid || accounts[accountSid] !== auth.password) {
      record(401);
      return sendError(res, { status: 401 });
    }
    if (req.method !== 'POST') {
      record(405);
      return sendError(res, { status: 405, code: 20004, message: 'Method not allowed' });
    }
    if (!params.To || !params.From || (!params.Url && !params.Twiml)) {
      record(400);
      return sendError(res, { status: 400, code: 21205, message: 'Url parameter is required.' });
    }
    const scripted = callFailures.shift();
    if (scripted) {
      record(scripted.status);
      return sendError(res, scripted);
    }
    record(201);
    const now = new Date();
    const sid = `CA${randomBytes(16).toString('hex')}`;
    calls.push({
      sid,
      accountSid,
      to: params.To,
      from: params.From,
      url: params.Url,
      statusCallback: params.StatusCallback,
      statusCallbackEvents: form.getAll('StatusCallbackEvent'),
      params,
      at: now.getTime(),
    });
    // The fields of Twilio's Call resource, as calls.create receives them.
    sendJson(res, 201, {
      account_sid: accountSid,
      annotation: null,
      answered_by: null,
      api_version: '2010-04-01',
      caller_name: null,
      date_created: now.toUTCString(),
      date_updated: now.toUTCString(),
      direction: 'outbound-api',
      duration: null,
      end_time: null,
      forwarded_from: null,
      from: params.From,
      from_formatted: params.From,
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: 'USD',
      sid,
      start_time: null,
      status: 'queued',
      subresource_uris: {},
      to: params.To,
      to_formatted: params.To,
      trunk_sid: null,
      uri: `${path.slice(0, -'.json'.length)}/${sid}.json`,
      queue_time: '0',
    });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  const port = await listenOnLoopback(server);

  /** Resolves with the first `count` messages matching `filter` once they are all there. */
  function waitUntil(
    filter: (m: FakeTwilioMessage) => boolean,
    count: number,
    timeoutMs: number,
    what: string,
  ): Promise<FakeTwilioMessage[]> {
    const matching = () => messages.filter(filter);
    const now = matching();
    if (now.length >= count) return Promise.resolve(now.slice(0, count));
    return new Promise((resolve, reject) => {
      const onMessage = (message: FakeTwilioMessage) => {
        if (!filter(message)) return;
        const all = matching();
        if (all.length < count) return;
        cleanup();
        resolve(all.slice(0, count));
      };
      const timer = setTimeout(() => {
        cleanup();
        const got = matching();
        reject(
          new Error(
            `fake Twilio: expected ${count} ${what} within ${timeoutMs} ms, got ${got.length}:\n${describe(got)}\n` +
              `all ${messages.length} accepted messages:\n${describe(messages.slice(-30))}` +
              (requests.length > messages.length
                ? `\nrefused requests: ${requests
                    .filter((r) => r.status !== 201)
                    .map((r) => `${r.method} ${r.path} -> ${r.status}`)
                    .join(', ')}`
                : ''),
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        arrivals.off('message', onMessage);
      };
      arrivals.on('message', onMessage);
    });
  }

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    requests,
    deleted,
    calls,
    failNextCall: (...scripted) => void callFailures.push(...scripted),
    messagesTo: (to) => messages.filter((m) => m.to === to),
    attemptsTo: (to) => requests.filter((r) => r.method === 'POST' && r.params.To === to),
    failNext: (...scripted) => void failures.push(...scripted),
    holdNext() {
      let arrive!: () => void;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      let proceed: (() => void) | undefined;
      let released = false;
      hold = (go) => {
        proceed = go;
        arrive();
        if (released) go();
      };
      return {
        arrived,
        release: () => {
          released = true;
          proceed?.();
        },
      };
    },
    waitForMessages: (to, count, timeoutMs = 10_000) =>
      waitUntil((m) => m.to === to, count, timeoutMs, `message(s) to ${to}`),
    waitForTotal: (count, timeoutMs = 10_000) => waitUntil(() => true, count, timeoutMs, 'messages in all'),
    contents,
    contentRequests,
    failNextContent: (...scripted) => void contentFailures.push(...scripted),
    reset() {
      contents.length = 0;
      contentRequests.length = 0;
      contentFailures.length = 0;
      messages.length = 0;
      requests.length = 0;
      deleted.length = 0;
      failures.length = 0;
      calls.length = 0;
      callFailures.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
