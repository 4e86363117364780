// Twilio's webhooks: form fields, signed with the account's auth token over the public URL and the fields.
import express, { type Request, type Response } from 'express';
import twilio from 'twilio';
import type { WebhookKit } from '../channel.js';
import type { BotRef } from '../../src/config/directory.js';
import type { Channel } from '../../src/core/events.js';
import { authToken, drives } from './accounts.js';

/** Twilio posts form fields; all values arrive as strings (repeated fields keep the first). */
export type WebhookParams = Record<string, string>;

export const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 });

export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function flatten(body: unknown): WebhookParams {
  const params: WebhookParams = {};
  if (!body || typeof body !== 'object') return params;
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') params[key] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') params[key] = value[0];
  }
  return params;
}

/**
 * The path and query of a request target. Twilio signs the URL it was given, which is on the public URL,
 * so only these parts of the target count; an absolute-form target (`POST http://host/path`, as proxies
 * send) loses its scheme and host here.
 */
function pathAndQuery(target: string): string {
  if (target.startsWith('/')) return target;
  const rest = target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The headers of a form webhook signed as Twilio signs it (the sandbox's simulator and chat send these). */
export function signedFormHeaders(token: string, url: string, params: WebhookParams): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params),
  };
}

/** Any failure inside the check (a URL the twilio package cannot parse) is a mismatch, never a 500. */
function signatureMatches(token: string, signature: string, url: string, params: WebhookParams): boolean {
  try {
    return twilio.validateRequest(token, signature, url, params);
  } catch {
    return false;
  }
}

export interface Admitted {
  params: WebhookParams;
  /** The bot that owns the webhook's number, checked against the AccountSid; absent when none serves it. */
  bot: BotRef | undefined;
  number: string | undefined;
}

/**
 * Content type, signature and account checks shared by every Twilio webhook; undefined when answered.
 * The bot that owns the webhook's number (`owner`: which of our numbers, on which channel) is looked up
 * here, once, and checked against the AccountSid, so no route can reach a bot its account was not
 * checked against.
 */
export function admit(
  req: Request,
  res: Response,
  kit: WebhookKit,
  label: string,
  owner: (params: WebhookParams) => { channel: Channel; number: string } | undefined,
): Admitted | undefined {
  if (!req.is('application/x-www-form-urlencoded')) {
    kit.metrics.inbound.inc({ channel: label, status: 'rejected' });
    res
      .status(400)
      .type('text/plain')
      .send('Expected an application/x-www-form-urlencoded body, as Twilio sends.');
    return undefined;
  }
  const params = flatten(req.body);
  const directory = kit.directory();
  const signature = req.get('X-Twilio-Signature');
  const token = params.AccountSid ? authToken(directory, params.AccountSid) : undefined;
  const url = directory.publicUrl + pathAndQuery(req.originalUrl);
  let reason: string | undefined;
  if (!signature) reason = 'no X-Twilio-Signature header';
  else if (!params.AccountSid) reason = 'no AccountSid parameter';
  else if (!token) reason = 'unknown AccountSid';
  else if (!signatureMatches(token, signature, url, params)) reason = 'signature does not match';
  const ours = reason ? undefined : owner(params);
  const bot = ours ? directory.botFor(ours.channel, ours.number) : undefined;
  if (bot && !drives(directory, params.AccountSid!, bot.bot)) {
    reason = `AccountSid is not the Twilio account of the bot that serves ${ours!.number}`;
  }
  if (reason) {
    kit.forbidden(req, res, label, reason, url);
    return undefined;
  }
  return { params, bot, number: ours?.number };
}
