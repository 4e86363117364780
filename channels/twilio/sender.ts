// Sends replies through Twilio's REST API with the official client, one client per account.
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { SendRejectedError, SendRetryableError } from '../channel.js';
import type { TwilioAccount } from './accounts.js';

export interface OutboundText {
  accountSid: string;
  from: string;
  to: string;
  body: string;
  /** WhatsApp outside the 24-hour window: a pre-approved template instead of free text. */
  contentSid?: string;
  /** A `choose` question's options (WhatsApp): the sandbox records them for the simulator; Twilio sends `contentSid`. */
  choice?: OutboundChoice;
  /** With `contentSid`: the template's variables, as the JSON object Twilio's ContentVariables takes. */
  contentVariables?: string;
}

/** A `choose` question as WhatsApp shows it: buttons (3 or fewer) or a list picker. */
export interface OutboundChoice {
  type: 'buttons' | 'list';
  prompt: string;
  /** A list picker's button text. */
  button?: string;
  options: { id: string; title: string; description?: string }[];
}

/**
 * Sends one message. Implementations: `TwilioSender` (Twilio's REST API through the `twilio` client)
 * and `SandboxRecorder` (records to Redis for the simulator and tests).
 */
export interface MessageSender {
  send(message: OutboundText): Promise<{ sid: string }>;
  /** Deletes an inbound message from the provider's log (after it carried a secret). */
  deleteMessage?(accountSid: string, messageSid: string): Promise<void>;
  /** Creates a content resource (Twilio's Content API; `request` is its JSON body); returns its SID. */
  createContent?(accountSid: string, request: Record<string, unknown>): Promise<{ sid: string }>;
}

/** Rewrites Twilio's API host to a configured base URL, keeping path and query. */
export class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super({ timeout: 10_000, keepAlive: true });
  }

  override request<T>(opts: RequestClient.RequestOptions<T>) {
    const original = new URL(opts.uri);
    const rewritten = new URL(original.pathname + original.search, this.baseUrl);
    return super.request<T>({ ...opts, uri: rewritten.href });
  }
}

/** Twilio's "too many queued messages for this From" (21611) and "queue overflow" (30001). */
const QUEUE_FULL = new Set([21611, 30001]);
/** Twilio's "message rate limit exceeded" for the sender. */
const RATE_EXCEEDED = 14107;

/** Twilio's answer as the send queue acts on it: retry (with a slow-down for 14107) or give up. */
/**
 * The official client per configured account, made once per account and credentials: `accounts` is read on
 * every use, so a configuration reload's new credentials take effect. Retries are off: the queues own them.
 */
export class TwilioClients {
  private readonly clients = new Map<string, twilio.Twilio>();

  constructor(private readonly accounts: () => Map<string, TwilioAccount>) {}

  /** The account's client; `missing` is the error thrown when no such account is configured. */
  get(accountSid: string, missing: () => Error): twilio.Twilio {
    const account = this.accounts().get(accountSid);
    if (!account) throw missing();
    const cacheKey = `${accountSid}\n${account.authToken}\n${account.apiBaseUrl ?? ''}`;
    let client = this.clients.get(cacheKey);
    if (!client) {
      client = twilio(account.accountSid, account.authToken, {
        autoRetry: false, // the send queue owns retries, with backoff that survives restarts
        ...(account.apiBaseUrl ? { httpClient: new BaseUrlRequestClient(account.apiBaseUrl) } : {}),
      });
      this.clients.set(cacheKey, client);
    }
    return client;
  }
}

/** What the twilio client's error says: the HTTP status (none when Twilio never answered), Twilio's code, the message. */
export function twilioErrorFields(error: unknown): { status?: number; code?: number; message: string } {
  const rawStatus = typeof error === 'object' && error && 'status' in error ? Number(error.status) : NaN;
  const rawCode = typeof error === 'object' && error && 'code' in error ? Number(error.code) : NaN;
  return {
    ...(Number.isFinite(rawStatus) ? { status: rawStatus } : {}),
    ...(Number.isFinite(rawCode) ? { code: rawCode } : {}),
    message: error instanceof Error ? error.message : String(error),
  };
}

export function classify(error: unknown): Error {
  if (error instanceof SendRejectedError || error instanceof SendRetryableError) return error;
  const { status, code, message } = twilioErrorFields(error);
  if (status === undefined) return new SendRetryableError(`Twilio unreachable: ${message}`);
  // Codes first: Twilio answers 14107 with a 429 too, and it asks for more than a retry.
  if (code === RATE_EXCEEDED)
    return new SendRetryableError(
      `Twilio says the sender exceeds its rate (error ${code}): ${message}`,
      status,
      code,
      true,
    );
  // The sender's queue at Twilio is full (21611, 30001): it drains at the sender's rate, so later it passes.
  if (code !== undefined && QUEUE_FULL.has(code))
    return new SendRetryableError(
      `Twilio's queue for the sender is full (error ${code}): ${message}`,
      status,
      code,
    );
  if (status === 429 || status >= 500)
    return new SendRetryableError(`Twilio answered ${status}: ${message}`, status, code);
  return new SendRejectedError(
    `Twilio refused the message (${status}${code ? `, error ${code}` : ''}): ${message}`,
    status,
    code,
  );
}

export class TwilioSender implements MessageSender {
  private readonly clients: TwilioClients;

  /** `accounts` is read on every send, so a configuration reload's new credentials take effect. */
  constructor(accounts: () => Map<string, TwilioAccount>) {
    this.clients = new TwilioClients(accounts);
  }

  private client(accountSid: string): twilio.Twilio {
    return this.clients.get(
      accountSid,
      () => new SendRejectedError(`no Twilio account ${accountSid} is configured`, 400),
    );
  }

  async send(message: OutboundText): Promise<{ sid: string }> {
    try {
      const created = await this.client(message.accountSid).messages.create(
        message.contentSid
          ? {
              from: message.from,
              to: message.to,
              contentSid: message.contentSid,
              ...(message.contentVariables ? { contentVariables: message.contentVariables } : {}),
            }
          : { from: message.from, to: message.to, body: message.body },
      );
      return { sid: created.sid };
    } catch (error) {
      throw classify(error);
    }
  }

  async createContent(accountSid: string, request: Record<string, unknown>): Promise<{ sid: string }> {
    try {
      // The client sends the request as it is given, as JSON: Twilio's own field names.
      const created = await this.client(accountSid).content.v1.contents.create(request as never);
      return { sid: created.sid };
    } catch (error) {
      throw classify(error);
    }
  }

  async deleteMessage(accountSid: string, messageSid: string): Promise<void> {
    try {
      await this.client(accountSid).messages(messageSid).remove();
    } catch (error) {
      throw classify(error);
    }
  }
}
