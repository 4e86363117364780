// Posts Twilio's webhooks to a gateway the way Twilio does: form-encoded and signed with the auth token.
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { ACCOUNT_SID, AUTH_TOKEN, NUMBERS, PUBLIC_URL } from './config.js';

export interface WebhookAnswer {
  status: number;
  body: string;
  contentType: string | null;
  /** Milliseconds from sending to the whole answer. */
  elapsedMs: number;
}

export interface PostOptions {
  /** Sign with this token instead of the client's; `null` sends no signature header at all. */
  signWith?: string | null;
  /** A signature header to send as is (a forged one). */
  signature?: string;
  /** A raw body and content type instead of the form. */
  raw?: { body: string | Buffer; contentType: string };
}

/** A fresh provider id such as Twilio makes: two letters and 32 hex digits. */
export function newSid(prefix: 'SM' | 'CA' | 'MM' = 'SM'): string {
  return prefix + randomBytes(16).toString('hex');
}

export class TwilioWebhookClient {
  constructor(
    /** Where the gateway listens (http://127.0.0.1:PORT). */
    readonly baseUrl: string,
    /** What the gateway believes its public URL is: the signature covers it. */
    readonly publicUrl = PUBLIC_URL,
    readonly authToken = AUTH_TOKEN,
    readonly accountSid = ACCOUNT_SID,
  ) {}

  /** The X-Twilio-Signature for a path (with its query) and parameters, by the twilio package itself. */
  sign(pathAndQuery: string, params: Record<string, string>, token = this.authToken): string {
    return twilio.getExpectedTwilioSignature(token, this.publicUrl + pathAndQuery, params);
  }

  async post(
    pathAndQuery: string,
    params: Record<string, string>,
    options: PostOptions = {},
  ): Promise<WebhookAnswer> {
    const headers: Record<string, string> = {
      'content-type': options.raw?.contentType ?? 'application/x-www-form-urlencoded',
      'user-agent': 'TwilioProxy/1.1',
    };
    if (options.signature !== undefined) headers['x-twilio-signature'] = options.signature;
    else if (options.signWith !== null)
      headers['x-twilio-signature'] = this.sign(pathAndQuery, params, options.signWith ?? this.authToken);
    const started = performance.now();
    const res = await fetch(this.baseUrl + pathAndQuery, {
      method: 'POST',
      headers,
      body: options.raw?.body ?? new URLSearchParams(params).toString(),
    });
    const body = await res.text();
    return {
      status: res.status,
      body,
      contentType: res.headers.get('content-type'),
      elapsedMs: performance.now() - started,
    };
  }

  /** An inbound SMS from `from` (E.164) to the bot's SMS number. */
  sms(from: string, body: string, extra: Record<string, string> = {}, options?: PostOptions) {
    return this.post('/webhooks/sms', this.smsParams(from, body, extra), options);
  }

  smsParams(from: string, body: string, extra: Record<string, string> = {}): Record<string, string> {
    const sid = extra.MessageSid ?? newSid();
    return {
      ToCountry: 'US',
      SmsMessageSid: sid,
      NumMedia: '0',
      SmsSid: sid,
      SmsStatus: 'received',
      Body: body,
      To: NUMBERS.sms,
      NumSegments: '1',
      MessageSid: sid,
      AccountSid: this.accountSid,
      From: from,
      ApiVersion: '2010-04-01',
      ...extra,
    };
  }

  /** An inbound WhatsApp text from `from` (E.164, sent as `whatsapp:+…`). */
  whatsapp(from: string, body: string, extra: Record<string, string> = {}, options?: PostOptions) {
    const sid = extra.MessageSid ?? newSid();
    return this.post(
      '/webhooks/whatsapp',
      {
        SmsMessageSid: sid,
        NumMedia: '0',
        ProfileName: 'Zhang San',
        MessageType: 'text',
        SmsSid: sid,
        WaId: from.slice(1),
        SmsStatus: 'received',
        Body: body,
        To: `whatsapp:${NUMBERS.whatsapp}`,
        NumSegments: '1',
        ReferralNumMedia: '0',
        MessageSid: sid,
        AccountSid: this.accountSid,
        From: `whatsapp:${from}`,
        ApiVersion: '2010-04-01',
        ...extra,
      },
      options,
    );
  }

  /** The fields Twilio sends with every request about a call. */
  callParams(callSid: string, from: string, status = 'ringing'): Record<string, string> {
    return {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: callSid,
      CallStatus: status,
      Direction: 'inbound',
      From: from,
      Caller: from,
      To: NUMBERS.voice,
      Called: NUMBERS.voice,
    };
  }

  /** An incoming call. */
  call(callSid: string, from: string) {
    return this.post('/webhooks/voice', {
      ...this.callParams(callSid, from),
      CallerCountry: 'US',
      StirVerstat: 'TN-Validation-Passed-A',
    });
  }

  /** A Gather's result posted to its action URL; `digits` '' is Twilio's "no input" (actionOnEmptyResult). */
  gather(actionUrl: string, callSid: string, from: string, digits: string) {
    return this.post(this.pathOf(actionUrl), {
      ...this.callParams(callSid, from, 'in-progress'),
      Digits: digits,
      FinishedOnKey: digits ? '#' : '',
      ...(digits ? { msg: 'Gather End' } : {}),
    });
  }

  /** Follows a `<Redirect>` as Twilio does: POST to its URL with the call's fields. */
  redirect(url: string, callSid: string, from: string) {
    return this.post(this.pathOf(url), this.callParams(callSid, from, 'in-progress'));
  }

  /** A URL from TwiML (on the public URL) as the path and query to post on loopback. */
  pathOf(url: string): string {
    if (!url.startsWith(this.publicUrl))
      throw new Error(`${url} is not under the public URL ${this.publicUrl}`);
    return url.slice(this.publicUrl.length);
  }
}
