// Dialog test helpers: a gateway whose workspace lists allowHosts, scripted SMS/WhatsApp/voice chats, TwiML builders.
import { randomInt } from 'node:crypto';
import { expect } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import type { InboundEvent } from '../../../src/core/events.js';
import type { Env } from '../../../src/env.js';
import { Queues } from '../../../src/queue/queues.js';
import type { Gateway } from '../../../src/main/gateway.js';
import { createDataCipher, type DataCipher } from '../../../src/store/cipher.js';
import { ConversationStore } from '../../../src/store/conversation-store.js';
import type { Keys } from '../../../src/store/keys.js';
import { places } from '../../../src/store/places.js';
import { ACCOUNT_SID, botYaml, NUMBERS, PUBLIC_URL, testConfigYaml } from '../../support/config.js';
import {
  startHarness,
  type Harness,
  type HarnessOptions,
  type RunningGateway,
} from '../../support/harness.js';
import { LogCollector } from '../../support/logs.js';
import type { FinishedTurn } from '../../support/turns.js';
import { twimlAttribute, twimlText } from '../../support/twiml.js';
import { newSid, TwilioWebhookClient, type WebhookAnswer } from '../../support/webhooks.js';

export { NUMBERS, PUBLIC_URL };

export interface DialogHarnessOptions extends Pick<
  HarnessOptions,
  'bots' | 'allowHosts' | 'adjust' | 'files' | 'label' | 'clock' | 'loopbackPublicUrl'
> {
  /** The `${NAME}`s the configuration needs beyond the test's own. */
  variables?: Record<string, string>;
  /** Start the in-process gateway (web and workers); default true. */
  gateway?: boolean;
}

/** The whole configuration file of a dialog test: the shared test file plus the workspace's allowHosts. */
export function dialogConfigYaml(bots: string, twilioApiUrl: string, allowHosts: string[] = []): string {
  return testConfigYaml({ bots, twilioApiUrl, allowHosts });
}

/** What a harness view of another gateway on the same prefix has of its own (other data keys). */
interface GatewayView {
  env: Env;
  processEnv: Record<string, string>;
  keys: Keys;
  cipher: DataCipher;
}

/**
 * The shared harness (test/support/harness.ts) seen from one gateway, with scripted chats. The main
 * view owns the harness (its close ends it); a view of another gateway closes that gateway only.
 */
export class DialogHarness {
  readonly webhooks: TwilioWebhookClient;
  readonly store: ConversationStore;
  readonly env: Env;
  readonly processEnv: Record<string, string>;
  readonly keys: Keys;
  readonly cipher: DataCipher;
  /** The gateway's log (empty when the harness started none). */
  readonly logs: LogCollector;
  private queues: Queues | undefined;
  private closed = false;

  constructor(
    readonly base: Harness,
    readonly running: RunningGateway | undefined,
    view?: GatewayView,
  ) {
    this.env = view?.env ?? base.env;
    this.processEnv = view?.processEnv ?? base.processEnv;
    this.keys = view?.keys ?? base.keys;
    this.cipher = view?.cipher ?? createDataCipher(base.processEnv.SWITCHBOARD_DATA_KEY!);
    this.logs = running?.logs ?? new LogCollector('gateway');
    this.webhooks = new TwilioWebhookClient(this.url, this.processEnv.PUBLIC_URL);
    this.store = new ConversationStore(base.redis, this.keys, this.cipher);
  }

  get prefix(): string {
    return this.base.prefix;
  }
  get config(): Config {
    return this.base.config;
  }
  get configPath(): string {
    return this.base.configPath;
  }
  get twilio(): Harness['twilio'] {
    return this.base.twilio;
  }
  get redis(): Harness['redis'] {
    return this.base.redis;
  }
  get gateway(): Gateway | undefined {
    return this.running?.gateway;
  }

  /** http://127.0.0.1:PORT of the gateway. */
  get url(): string {
    return this.running?.url ?? 'http://127.0.0.1:1';
  }

  cid(botId: string, identity: string): string {
    return this.keys.conversationId(botId, identity);
  }

  /** The conversation of one call: its state and turn answers are the call's own. */
  callCid(botId: string, call: CallChat): string {
    return this.keys.callConversationId(botId, call.identity, call.callSid);
  }

  sms(from = randomNumber(), to: string = NUMBERS.sms): TextChat {
    return new TextChat(this, 'sms', from, to);
  }

  whatsapp(from = randomNumber(), to: string = NUMBERS.whatsapp): TextChat {
    return new TextChat(this, 'whatsapp', from, to);
  }

  call(from = randomNumber(), to: string = NUMBERS.voice): CallChat {
    return new CallChat(this, from, to);
  }

  /**
   * Moves a conversation into the past, as if `sessionTimeout` seconds of silence and then `pastExpiryMs`
   * more had gone by: the stored expiry and the key's remaining lifetime shrink alike (the key goes when
   * its lifetime would be over). The state is opened, changed and sealed again with the gateway's data key.
   */
  async expireConversation(cid: string, pastExpiryMs = 1): Promise<void> {
    const key = this.keys.state(cid);
    const state = await this.store.state(cid);
    if (!state) throw new Error(`conversation ${cid} has no state to expire`);
    const now = Date.now();
    const left = (await this.redis.pttl(key)) - (state.expiresAt - now + pastExpiryMs);
    if (left <= 0) {
      await this.redis.del(key);
      return;
    }
    const sealed = this.cipher.seal(
      JSON.stringify({ ...state, expiresAt: now - pastExpiryMs }),
      places.conversation(cid, 'state'),
    );
    await this.redis.set(key, sealed, 'PX', left);
  }

  /** Queues an event as the webhook would (sealed into the inbox, conversation kicked), for events a webhook cannot make. */
  async inject(event: InboundEvent): Promise<void> {
    const cid = this.keys.conversationId(event.botId, event.identity);
    this.queues ??= new Queues(this.redis, this.keys, this.env.SWITCHBOARD_QUEUE_SHARDS);
    expect(await this.store.accept(cid, event)).toBe(true);
    await this.queues.kickConversation(cid);
  }

  /** Waits for this gateway's workers to finish the turn of one provider id; fails at once if it was dead-lettered. */
  handled(eventId: string): Promise<FinishedTurn> {
    return (this.running?.turns ?? this.base.turns).handled(eventId);
  }

  /** One sample of a Prometheus counter from /metrics, 0 when it has none yet. */
  async metric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const wanted = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .sort();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const have = match[2]!.split(',').sort();
      if (JSON.stringify(have) === JSON.stringify(wanted)) return Number(match[3]);
    }
    return 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queues?.close();
    await (this.running === this.base.main ? this.base.close() : this.running?.close());
  }
}

/** The shared harness preset for dialogs: a workspace that lists allowHosts, web and workers in process. */
export async function startDialogHarness(options: DialogHarnessOptions): Promise<DialogHarness> {
  const base = await startHarness({
    ...options,
    allowHosts: options.allowHosts ?? [],
    label: options.label ?? 'dialog',
    ...(options.variables ? { env: options.variables } : {}),
    gateway: options.gateway === false ? false : { web: true, workers: true },
  });
  return new DialogHarness(base, base.main);
}

/**
 * `botYaml` with any numbers: the shared helper types them as the default numbers' literals, so a bot on
 * a number of its own needs this (same YAML).
 */
export function botOn(
  id: string,
  body: string,
  numbers: Partial<Record<keyof typeof NUMBERS, string>> = NUMBERS,
): string {
  return botYaml(id, body, numbers as Partial<typeof NUMBERS>);
}

/** The `twilio:` section pointing at the fake Twilio API, as its own file of a configuration directory. */
export function twilioYaml(twilioApiUrl: string): string {
  return [
    'twilio:',
    '  accountSid: ${TWILIO_ACCOUNT_SID}',
    '  authToken: ${TWILIO_AUTH_TOKEN}',
    `  apiBaseUrl: ${twilioApiUrl}`,
    '',
  ].join('\n');
}

/** Subscriber numbers 1,000,000–9,999,999, handed out in turn from a random start: no two calls share one. */
let nextSubscriber = randomInt(0, 9_000_000);

/** A US number nobody else in the file uses, so each test has a conversation of its own. */
export function randomNumber(): string {
  nextSubscriber = (nextSubscriber + 1) % 9_000_000;
  return `+1202${String(1_000_000 + nextSubscriber)}`;
}

/** An SMS or WhatsApp conversation: each `send` returns exactly the replies of its turn, in order. */
export class TextChat {
  constructor(
    private readonly h: DialogHarness,
    readonly channel: 'sms' | 'whatsapp',
    readonly from: string,
    readonly to: string,
  ) {}

  /** Where replies go, as Twilio's API sees it. */
  get address(): string {
    return this.channel === 'whatsapp' ? `whatsapp:${this.from}` : this.from;
  }

  get identity(): string {
    return `${this.channel}:${this.from}`;
  }

  /** Posts the message, waits until the worker handled it and every reply it made was accepted by Twilio. */
  async send(body: string, extra: Record<string, string> = {}): Promise<string[]> {
    const sid = extra.MessageSid ?? newSid();
    const before = this.h.twilio.messagesTo(this.address).length;
    const answer = await this.post(body, { ...extra, MessageSid: sid });
    expect(answer.status, answer.body).toBe(200);
    const handled = await this.h.handled(sid);
    const count = Number(handled.replies);
    const all =
      count === 0
        ? this.h.twilio.messagesTo(this.address)
        : await this.h.twilio.waitForMessages(this.address, before + count);
    return all.slice(before).map((m) => m.body ?? `[template ${String(m.contentSid)}]`);
  }

  /** Posts the message only. */
  post(body: string, extra: Record<string, string> = {}): Promise<WebhookAnswer> {
    const to = this.channel === 'whatsapp' ? `whatsapp:${this.to}` : this.to;
    return this.channel === 'sms'
      ? this.h.webhooks.sms(this.from, body, { To: to, ...extra })
      : this.h.webhooks.whatsapp(this.from, body, { To: to, ...extra });
  }
}

/** A phone call: each step returns the TwiML Twilio would get, following hold redirects. */
export class CallChat {
  readonly callSid = newSid('CA');
  private action: string | undefined;

  constructor(
    private readonly h: DialogHarness,
    readonly from: string,
    readonly to: string,
  ) {}

  get identity(): string {
    return `voice:${this.from}`;
  }

  /** The call comes in. */
  async start(): Promise<string> {
    return this.take(
      await this.h.webhooks.post('/webhooks/voice', {
        ...this.params('ringing'),
        CallerCountry: 'US',
      }),
    );
  }

  /** Keys pressed in answer to the last Gather ('' is Twilio's empty result: no input). */
  async press(digits: string): Promise<string> {
    return this.take(
      await this.h.webhooks.post(this.h.webhooks.pathOf(this.gatherAction()), {
        ...this.params('in-progress'),
        Digits: digits,
        FinishedOnKey: digits ? '#' : '',
      }),
    );
  }

  /** Words spoken in answer to the last Gather, as Twilio's speech recognition reports them. */
  async speak(words: string): Promise<string> {
    return this.take(
      await this.h.webhooks.post(this.h.webhooks.pathOf(this.gatherAction()), {
        ...this.params('in-progress'),
        SpeechResult: words,
        Confidence: '0.92',
      }),
    );
  }

  private gatherAction(): string {
    if (!this.action) throw new Error('the call has no pending Gather to answer');
    return this.action;
  }

  private params(status: string): Record<string, string> {
    return {
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: this.callSid,
      CallStatus: status,
      Direction: 'inbound',
      From: this.from,
      Caller: this.from,
      To: this.to,
      Called: this.to,
    };
  }

  private async take(answer: WebhookAnswer): Promise<string> {
    let current = answer;
    // A slow turn answers "hold on" and a Redirect back to the gateway: follow it as Twilio does.
    for (let hops = 0; hops < 20; hops++) {
      expect(current.status, current.body).toBe(200);
      const redirect = twimlText(current.body, 'Redirect');
      if (redirect === undefined) break;
      current = await this.h.webhooks.post(this.h.webhooks.pathOf(redirect), this.params('in-progress'));
    }
    this.action = twimlAttribute(current.body, 'Gather', 'action');
    return current.body;
  }
}

// --- exact TwiML, written out ---

export interface VoiceLook {
  voice: string;
  language: string;
  gatherTimeout: number;
}

/** The default voice settings of a bot. */
export const DEFAULT_VOICE: VoiceLook = { voice: 'Polly.Joanna', language: 'en-US', gatherTimeout: 5 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function twiml(...parts: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${parts.join('')}</Response>`;
}

export function say(text: string, look: VoiceLook = DEFAULT_VOICE): string {
  return `<Say voice="${look.voice}" language="${look.language}">${escapeXml(text)}</Say>`;
}

/** A Gather with its prompt inside; `keypad: false` gathers speech too, in the bot's language. */
export function gather(
  turn: number,
  prompt: string,
  opts: { keypad: boolean; digits?: number; timeout?: number },
  look: VoiceLook = DEFAULT_VOICE,
): string {
  return (
    `<Gather input="${opts.keypad ? 'dtmf' : 'dtmf speech'}"` +
    (opts.digits !== undefined ? ` numDigits="${opts.digits}"` : '') +
    ` finishOnKey="#" timeout="${opts.timeout ?? look.gatherTimeout}"` +
    ` action="${PUBLIC_URL}/webhooks/voice/gather?turn=${turn}" method="POST" actionOnEmptyResult="true"` +
    (opts.keypad ? '' : ` language="${look.language}"`) +
    `>${say(prompt, look)}</Gather>`
  );
}

export const HANGUP = '<Hangup/>';
