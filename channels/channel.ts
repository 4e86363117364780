// The contract between a channel and the gateway: its webhooks in, its replies out, its rules.
import type { Request, RequestHandler, Response } from 'express';
import type { BotConfig } from '../src/config/index.js';
import type { Channel, InboundEvent, TurnOutput } from '../src/core/events.js';
import type { Logger } from '../src/log.js';
import type { Metrics } from '../src/metrics.js';
import type { BotRef, Directory } from '../src/config/directory.js';
import type { OutboxItem } from '../src/store/conversation-store.js';
import type { OutboundCallPlan } from '../src/store/call-store.js';
import type { MessageSender } from './twilio/sender.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** The event as a channel reads it; the bot is resolved by the webhook. */
export type ChannelEvent = Omit<InboundEvent, 'botId'>;

/** What the gateway lends a channel's webhook routes: lookups, answers, and the one way into the queue. */
export interface WebhookKit {
  directory(): Directory;
  logger: Logger;
  metrics: Metrics;
  /** The gateway's clock (ms): what an event's `receivedAt` is read from. */
  now(): number;
  /** 403, logged and counted: the request is not from whom it claims. */
  forbidden(req: Request, res: Response, channel: string, reason: string, url: string): void;
  /** 400, counted. */
  badRequest(res: Response, channel: string, problem: string): void;
  /** 503 with Retry-After, logged and counted: Redis did not answer in time. */
  unavailable(res: Response, channel: string, error: unknown): void;
  /**
   * Accepts an event into its conversation (a call's own when `call` is given) and kicks it, within the
   * Redis deadline. Answers 404 when no bot serves it and 503 when Redis is away (then undefined);
   * `refused` when a call is over or was never seen here: nothing is queued. With `turn` (a call's turn),
   * the wait for that turn's answer begins before the event is queued, and `answer` gives it (as `waitTurn`,
   * without a read of Redis when the event is new: nothing can have answered it before).
   */
  accept(
    res: Response,
    parsed: ChannelEvent,
    bot: BotRef | undefined,
    opts: { number: string | undefined; call?: string; turn?: number },
  ): Promise<
    | {
        cid: string;
        bot: BotRef;
        refused: boolean;
        answer?: (ms: number) => Promise<string | 'over' | undefined>;
      }
    | undefined
  >;
  /** 404 for a number no bot serves; the bot otherwise. */
  servedBy(
    res: Response,
    channel: string,
    bot: BotRef | undefined,
    number: string | undefined,
  ): BotRef | undefined;
  /** The conversation of one call. */
  callConversation(bot: BotRef, identity: string, call: string): string;
  /** The answer the worker published for a voice turn ('over' when the call ended), or undefined in time. */
  waitTurn(cid: string, turn: number, ms: number): Promise<string | 'over' | undefined>;
  /** Records a delivery status of a reply we sent, within the Redis deadline. */
  recordStatus(status: DeliveryStatus, bot: BotRef | undefined): Promise<void>;
  /** What an outbound call we placed runs, by its CallSid, within the Redis deadline; undefined if not ours. */
  outboundCall(callSid: string): Promise<OutboundCallPlan | undefined>;
  /**
   * An outbound call we placed is over: one that never connected (`no-answer`, `busy`, `failed`,
   * `canceled`) is reported to the operator (`call.failed`); its plan is forgotten either way.
   */
  outboundCallEnded(report: { bot: BotRef; callSid: string; to: string; status: string }): Promise<void>;
}

/** A provider's report on a reply we sent. */
export interface DeliveryStatus {
  messageId: string;
  status: string;
  failed: boolean;
  errorCode?: string;
  /** Why it failed, in words for the operator (`message.failed`). */
  reason: string;
  channel: Channel;
  /** Our address that sent it and the address it was for, as the provider knows them. */
  from: string;
  to: string;
}

export interface WebhookRoute {
  path: string;
  /** Reads the body the way the provider sends it (form fields, JSON). */
  body: RequestHandler;
  handle(req: Request, res: Response, kit: WebhookKit): Promise<void> | void;
}

/** What a delivery may use: the bot, and the gateway's message sender (the provider's API, or the sandbox's recorder). */
export interface DeliveryContext {
  bot: BotConfig | undefined;
  sender: MessageSender;
  /** The content SIDs Twilio made for `choose` questions (WhatsApp buttons and lists), created once each. */
  contents?: ContentSids;
  logger?: Logger;
}

/** Where the SIDs of the content resources made for `choose` questions are kept (`src/store/content-sids.ts`). */
export interface ContentSids {
  get(accountSid: string, content: string): Promise<string | undefined>;
  set(accountSid: string, content: string, sid: string): Promise<void>;
  forget(accountSid: string, content: string): Promise<void>;
}

/** What redacting an inbound message may use. */
export interface RedactionContext {
  directory: Directory;
  sender: MessageSender;
  logger: Logger;
}

/**
 * One channel. Implementations: `channels/sms`, `channels/whatsapp`, `channels/voice`; the registry is
 * `channels/index.ts`. A channel either delivers replies as texts (`deliver`) or renders them into the
 * answer of the webhook that is waiting (`renderTurn`, voice).
 */
export interface ChannelAdapter {
  readonly name: Channel;
  readonly routes: readonly WebhookRoute[];
  /** Splits a reply into the texts to send, each within the channel's limit. */
  toTexts?(text: string): string[];
  /** Sends one reply; returns the provider's id for it. Throws `SendRejectedError` or `SendRetryableError`. */
  deliver?(item: OutboxItem, ctx: DeliveryContext): Promise<{ id: string }>;
  /** Renders a turn's replies as the answer of the waiting webhook. */
  renderTurn?(output: TurnOutput, opts: { publicUrl: string; turn: number; bot: BotConfig }): string;
  /** The answer of the waiting webhook for a turn that cannot be answered at all. */
  apology?(bot: BotConfig): string;
  /** Removes an inbound message that carried a secret from the provider's log (when the account asks for it). */
  redact?(event: InboundEvent, ctx: RedactionContext): Promise<void>;
  /**
   * Whether free text may be sent first to a user who last wrote at `lastInbound` (ms; undefined: never),
   * e.g. WhatsApp's 24-hour window; outside it only a template may go. Absent: always.
   */
  freeTextAllowed?(lastInbound: number | undefined, now: number): boolean;
  /** The channel sends the bot's named templates (`templates:`, as ContentSid and ContentVariables). */
  readonly templates?: boolean;
}

/** The provider refused the message for good (4xx): do not retry. */
export class SendRejectedError extends Error {
  override readonly name = 'SendRejectedError';
  constructor(
    message: string,
    readonly status: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

/**
 * The provider was busy or unreachable (429, 5xx, network, its queue full): retry with backoff.
 * `slowSender`: the provider said this sender sends too fast; its pace should slow down.
 */
export class SendRetryableError extends Error {
  override readonly name = 'SendRetryableError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: number,
    readonly slowSender = false,
  ) {
    super(message);
  }
}

export function required(params: Record<string, string>, names: string[]): string | undefined {
  const missing = names.filter((n) => !params[n]);
  return missing.length ? `missing ${missing.join(', ')}` : undefined;
}

/** Splits text into parts of at most `max` characters, on word boundaries where there is one. */
export function splitText(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    const newline = rest.lastIndexOf('\n', max);
    if (newline > cut) cut = newline;
    if (cut <= 0) cut = max;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** A provider's field of an event; events queued before provider data became opaque carry it at the top. */
export function providerField(event: InboundEvent, name: string): string | undefined {
  return event.provider?.[name] ?? (event as unknown as Record<string, unknown>)[name]?.toString();
}
