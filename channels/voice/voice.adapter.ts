// Voice: Twilio's call and gather webhooks in, TwiML out (Say, Gather with the prompt inside, Hangup).
// Owns the call's webhooks too: each turn waits for the worker's TwiML, holding and redirecting meanwhile.
import type { Request, Response } from 'express';
import twilio from 'twilio';
import type { BotConfig } from '../../src/config/index.js';
import type { BotRef } from '../../src/config/directory.js';
import { identityOf, type Transfer, type TurnOutput } from '../../src/core/events.js';
import { isE164 } from '../../src/core/phone-number.js';
import {
  required,
  type ChannelAdapter,
  type ChannelEvent,
  type Parsed,
  type WebhookKit,
  type WebhookRoute,
} from '../channel.js';
import { admit, form, type WebhookParams } from '../twilio/webhook.js';

const ENDED = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

/**
 * What Twilio puts in From when the caller withheld their number: the keypad spellings of ANONYMOUS,
 * RESTRICTED, BLOCKED, UNKNOWN and UNAVAILABLE (or the word itself). Every such caller would otherwise be
 * one identity, sharing an opt-out and, with `trustCallerId`, a verified user.
 */
const WITHHELD = new Set([
  '+266696687',
  '+7378742833',
  '+2562533',
  '+8656696',
  '+86282452253',
  'anonymous',
  'restricted',
  'blocked',
  'unknown',
  'unavailable',
  'private',
]);

/**
 * Characters XML 1.0 cannot carry: C0 controls other than tab, newline and carriage return, lone
 * surrogates, U+FFFE and U+FFFF. The `u` flag reads a valid surrogate pair as one code point (kept).
 */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text with what XML cannot carry removed: the TwiML builder throws on it, whatever the text's source. */
export function xmlSafe(text: string): string {
  return text.replace(NOT_XML, '');
}

/** The voice settings with every text made XML-safe (they come from configuration). */
function safeSettings(settings: VoiceSettings): VoiceSettings {
  return {
    language: xmlSafe(settings.language),
    voice: xmlSafe(settings.voice),
    gatherTimeout: settings.gatherTimeout,
    holdMessage: xmlSafe(settings.holdMessage),
    apology: xmlSafe(settings.apology ?? APOLOGY),
  };
}

/** Said when a turn cannot be answered, by a bot that does not say (its texts' `apology`). */
const APOLOGY = 'Sorry, something went wrong on our side. Please call again later. Goodbye.';

export interface VoiceSettings {
  language: string;
  voice: string;
  gatherTimeout: number;
  holdMessage: string;
  /** Said, in the bot's language and voice, when a turn cannot be answered at all. */
  apology?: string;
}

/** A bot's voice settings, from its configuration. */
export function voiceSettings(bot: BotConfig): VoiceSettings {
  return {
    language: bot.voice.language,
    voice: bot.voice.voice,
    gatherTimeout: bot.voice.gatherTimeout,
    holdMessage: bot.voice.holdMessage,
    apology: bot.texts.voice.apology,
  };
}

export interface VoiceAdapter extends ChannelAdapter {
  /** Turns Twilio's call and gather webhooks into the normalized event, or says what is missing. */
  parseInbound(params: WebhookParams, meta: { turn: number; receivedAt: number }): Parsed<ChannelEvent>;
  /** Our number in the webhook, in E.164, to find the bot that serves it. */
  ourNumber(params: WebhookParams): string | undefined;
  /** The call-status webhook: an event when the call is over, otherwise undefined. */
  parseStatus(params: WebhookParams, receivedAt: number): Parsed<ChannelEvent | undefined>;
  /** Renders a turn's replies; a Gather's action points at the next turn. */
  toTwiml(output: TurnOutput, opts: { publicUrl: string; turn: number; settings: VoiceSettings }): string;
  /** The answer for a turn that is not ready yet: hold, then ask the gateway again. */
  holdTwiml(opts: { publicUrl: string; turn: number; hold: number; settings: VoiceSettings }): string;
  /** Said when a turn cannot be answered at all. */
  apologyTwiml(settings: VoiceSettings): string;
  /** The answer to an event of a call that is over or unknown: nothing said, nothing revealed. */
  hangupTwiml(): string;
}

/**
 * A call we placed (`POST /v1/calls`): Twilio's From is our number and To the person called, the other
 * way round from an incoming call. The person is the identity either way.
 */
export function isOutbound(params: WebhookParams): boolean {
  return params.Direction === 'outbound-api';
}

function callEvent(
  params: WebhookParams,
  receivedAt: number,
): Parsed<Omit<ChannelEvent, 'id' | 'kind' | 'text'>> {
  const problem = required(params, ['CallSid', 'AccountSid', 'From', 'To']);
  if (problem) return { ok: false, problem };
  const outbound = isOutbound(params);
  const person = outbound ? params.To! : params.From!;
  const ours = outbound ? params.From! : params.To!;
  if (outbound && !isE164(person)) return { ok: false, problem: 'To is not an E.164 number' };
  const withheld = !outbound && WITHHELD.has(person.toLowerCase());
  if (!withheld && !isE164(person)) return { ok: false, problem: 'From is not an E.164 number' };
  return {
    ok: true,
    value: {
      channel: 'voice',
      // A caller with no number is known by the call alone: each such call is an identity of its own.
      identity: identityOf('voice', withheld ? `withheld:${params.CallSid!}` : person),
      from: person,
      to: ours,
      provider: { accountSid: params.AccountSid! },
      receivedAt,
    },
  };
}

/** Holds after which a voice turn that still has no answer is given up (about a minute of hold). */
const MAX_HOLDS = 20;

function turnOf(req: Request): number | undefined {
  const raw = req.query.turn;
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw)) return undefined;
  return Number(raw);
}

function admitCall(req: Request, res: Response, kit: WebhookKit) {
  return admit(req, res, kit, 'voice', (params) => {
    const number = voiceAdapter.ourNumber(params);
    return number ? { channel: 'voice', number } : undefined;
  });
}

/** Answers a voice turn: the worker's TwiML, or hold-and-redirect while it is still working. */
async function answerTurn(
  res: Response,
  kit: WebhookKit,
  cid: string,
  botId: string,
  turn: number,
  hold: number,
  wait: (ms: number) => Promise<string | 'over' | undefined> = (ms) => kit.waitTurn(cid, turn, ms),
) {
  const directory = kit.directory();
  const bot = directory.bot(botId);
  if (!bot) {
    void wait(0).catch(() => undefined); // the wait begun with the event ends here
    return void res.status(404).type('text/plain').send('The bot is no longer configured.');
  }
  const settings = voiceSettings(bot);
  try {
    const answer = await wait(bot.voice.replyWaitMs);
    if (answer === 'over') return void res.status(200).type('text/xml').send(voiceAdapter.hangupTwiml());
    if (answer !== undefined) return void res.status(200).type('text/xml').send(answer);
  } catch (error) {
    return kit.unavailable(res, 'voice', error);
  }
  if (hold >= MAX_HOLDS) {
    kit.logger.error('voice turn not answered in time; hanging up', {
      conversation: cid,
      bot: botId,
      channel: 'voice',
      turn,
    });
    return void res.status(200).type('text/xml').send(voiceAdapter.apologyTwiml(settings));
  }
  res
    .status(200)
    .type('text/xml')
    .send(voiceAdapter.holdTwiml({ publicUrl: directory.publicUrl, turn, hold, settings }));
}

/** Twilio's AnsweredBy for a machine's greeting (or a fax) under answering-machine detection. */
const MACHINE = /^(machine_|fax$)/;

/**
 * The first webhook of a call we placed: the flow and variables it was placed with, or the message an
 * answering machine is left. `undefined` when the webhook was answered here (a hang-up or an error).
 */
async function outboundStart(
  res: Response,
  kit: WebhookKit,
  params: WebhookParams,
  bot: BotRef | undefined,
): Promise<{ start: { flow: string; vars: Record<string, string> } } | undefined> {
  let plan;
  try {
    plan = await kit.outboundCall(params.CallSid!);
  } catch (error) {
    kit.unavailable(res, 'voice', error);
    return undefined;
  }
  // A call we did not place, or placed for another bot or person: nothing is said or run.
  if (!plan || !bot || plan.bot !== bot.id || plan.to !== params.To) {
    kit.metrics.inbound.inc({ channel: 'voice', status: 'refused' });
    kit.logger.warn('outbound call webhook for a call we did not place; hanging up', { bot: bot?.id });
    res.status(200).type('text/xml').send(voiceAdapter.hangupTwiml());
    return undefined;
  }
  if (MACHINE.test(params.AnsweredBy ?? '')) {
    const settings = safeSettings(voiceSettings(bot.bot));
    const response = new twilio.twiml.VoiceResponse();
    if (plan.machineMessage)
      response.say(
        { voice: settings.voice, language: settings.language } as never,
        xmlSafe(plan.machineMessage),
      );
    response.hangup();
    kit.logger.info('outbound call answered by a machine', { bot: bot.id, answeredBy: params.AnsweredBy });
    res.status(200).type('text/xml').send(response.toString());
    return undefined;
  }
  return { start: { flow: plan.flow, vars: plan.vars } };
}

async function voiceTurn(req: Request, res: Response, kit: WebhookKit, turn: number) {
  const admitted = admitCall(req, res, kit);
  if (!admitted) return;
  const { params } = admitted;
  const parsed = voiceAdapter.parseInbound(params, { turn, receivedAt: kit.now() });
  if (!parsed.ok) return kit.badRequest(res, 'voice', parsed.problem);
  if (turn === 0 && isOutbound(params)) {
    if (!kit.servedBy(res, 'voice', admitted.bot, admitted.number)) return;
    const outbound = await outboundStart(res, kit, params, admitted.bot);
    if (!outbound) return;
    parsed.value.start = outbound.start;
  }
  const queued = await kit.accept(res, parsed.value, admitted.bot, {
    number: admitted.number,
    call: params.CallSid!,
    turn,
  });
  if (queued?.refused) res.status(200).type('text/xml').send(voiceAdapter.hangupTwiml());
  else if (queued) await answerTurn(res, kit, queued.cid, queued.bot.id, turn, 0, queued.answer);
}

/** The query of the transfer's URLs: what to say, and how (the bot's voice settings at the time). */
function sayQuery(text: string, settings: VoiceSettings): string {
  return new URLSearchParams({ say: text, voice: settings.voice, language: settings.language }).toString();
}

/** A transfer's TwiML: `<Dial>` to a number or SIP address (with the whisper), or `<Enqueue>` to a queue. */
function transferTwiml(
  response: twilio.twiml.VoiceResponse,
  transfer: Transfer,
  publicUrl: string,
  settings: VoiceSettings,
): void {
  // When the agent's leg ends (or no one answered), Twilio asks the transfer route what to do next.
  const action = `${publicUrl}/webhooks/voice/transfer?${sayQuery(xmlSafe(transfer.noAnswer), settings)}`;
  const { to } = transfer;
  if ('queue' in to) {
    response.enqueue({ action, method: 'POST' }, xmlSafe(to.queue));
    return;
  }
  const dial = response.dial({ action, method: 'POST' });
  const whisper =
    transfer.whisper === undefined
      ? {}
      : {
          url: `${publicUrl}/webhooks/voice/whisper?${sayQuery(xmlSafe(transfer.whisper), settings)}`,
          method: 'POST' as const,
        };
  if ('number' in to) dial.number(whisper, to.number);
  else dial.sip(whisper, to.sip);
}

/** The `<Say>` of a transfer's URL, from its (signed) query. */
function sayOf(
  req: Request,
  fallback: VoiceSettings | undefined,
): { text: string; say: Record<string, string> } {
  const field = (name: string) => (typeof req.query[name] === 'string' ? xmlSafe(req.query[name]) : '');
  const voice = field('voice') || fallback?.voice || '';
  const language = field('language') || fallback?.language || '';
  return {
    text: field('say'),
    say: { ...(voice ? { voice } : {}), ...(language ? { language } : {}) },
  };
}

/**
 * The whisper: what the agent hears on answering, before being connected. Twilio asks for it on the agent's
 * leg (whose To is the agent, not one of our numbers), so it is checked by its signature and account alone.
 */
function whisper(req: Request, res: Response, kit: WebhookKit) {
  const admitted = admit(req, res, kit, 'voice', () => undefined);
  if (!admitted) return;
  const { text, say } = sayOf(req, undefined);
  const response = new twilio.twiml.VoiceResponse();
  if (text) response.say(say as never, text);
  res.status(200).type('text/xml').send(response.toString());
}

/** Twilio's `<Dial>`/`<Enqueue>` ended: after a talk with the agent the call is over; unanswered, say so and hang up. */
function transferEnded(req: Request, res: Response, kit: WebhookKit) {
  const admitted = admitCall(req, res, kit);
  if (!admitted) return;
  const { params } = admitted;
  const bot = admitted.bot?.bot;
  const talked = params.DialCallStatus === 'completed' || params.QueueResult === 'bridged';
  const response = new twilio.twiml.VoiceResponse();
  const { text, say } = sayOf(req, bot ? voiceSettings(bot) : undefined);
  if (!talked && text) response.say(say as never, text);
  response.hangup();
  res.status(200).type('text/xml').send(response.toString());
}

const routes: WebhookRoute[] = [
  { path: '/webhooks/voice', body: form, handle: (req, res, kit) => voiceTurn(req, res, kit, 0) },
  {
    path: '/webhooks/voice/gather',
    body: form,
    async handle(req, res, kit) {
      const turn = turnOf(req);
      if (turn === undefined || turn < 1)
        return kit.badRequest(res, 'voice', 'the turn query parameter must be a number from 1');
      await voiceTurn(req, res, kit, turn);
    },
  },
  {
    path: '/webhooks/voice/result',
    body: form,
    async handle(req, res, kit) {
      const admitted = admitCall(req, res, kit);
      if (!admitted) return;
      const { params } = admitted;
      const turn = turnOf(req);
      const hold = Number(
        typeof req.query.hold === 'string' && /^\d{1,3}$/.test(req.query.hold) ? req.query.hold : 0,
      );
      if (turn === undefined)
        return kit.badRequest(res, 'voice', 'the turn query parameter must be a number');
      const parsed = voiceAdapter.parseInbound(params, { turn, receivedAt: kit.now() });
      if (!parsed.ok) return kit.badRequest(res, 'voice', parsed.problem);
      const bot = kit.servedBy(res, 'voice', admitted.bot, admitted.number);
      if (!bot) return;
      const cid = kit.callConversation(bot, parsed.value.identity, params.CallSid!);
      await answerTurn(res, kit, cid, bot.id, turn, hold);
    },
  },
  { path: '/webhooks/voice/whisper', body: form, handle: whisper },
  { path: '/webhooks/voice/transfer', body: form, handle: transferEnded },
  {
    path: '/webhooks/voice/status',
    body: form,
    async handle(req, res, kit) {
      const admitted = admitCall(req, res, kit);
      if (!admitted) return;
      const { params } = admitted;
      const parsed = voiceAdapter.parseStatus(params, kit.now());
      if (!parsed.ok) return kit.badRequest(res, 'voice', parsed.problem);
      if (!parsed.value) return void res.status(204).end();
      if (isOutbound(params) && admitted.bot) {
        try {
          await kit.outboundCallEnded({
            bot: admitted.bot,
            callSid: params.CallSid!,
            to: params.To!,
            status: params.CallStatus!,
          });
        } catch (error) {
          return kit.unavailable(res, 'voice', error);
        }
      }
      // A status of a call that is over or unknown changes nothing: a replayed `completed` ends no live call.
      const queued = await kit.accept(res, parsed.value, admitted.bot, {
        number: admitted.number,
        call: params.CallSid!,
      });
      if (queued) res.status(204).end();
    },
  },
];

export const voiceAdapter: VoiceAdapter = {
  name: 'voice',
  routes,
  renderTurn: (output, { publicUrl, turn, bot }) =>
    voiceAdapter.toTwiml(output, { publicUrl, turn, settings: voiceSettings(bot) }),
  apology: (bot) => voiceAdapter.apologyTwiml(voiceSettings(bot)),
  ourNumber: (params) => (isOutbound(params) ? params.From : (params.To ?? params.Called)),
  parseInbound(params, meta) {
    const base = callEvent(params, meta.receivedAt);
    if (!base.ok) return base;
    const text = (params.Digits || params.SpeechResult || '').trim();
    const kind = meta.turn === 0 ? 'call.start' : text ? 'call.input' : 'call.noinput';
    return {
      ok: true,
      value: { ...base.value, id: `${params.CallSid}:${meta.turn}`, kind, text, turn: meta.turn },
    };
  },
  parseStatus(params, receivedAt) {
    const base = callEvent(params, receivedAt);
    if (!base.ok) return base;
    if (!ENDED.has(params.CallStatus ?? '')) return { ok: true, value: undefined };
    return { ok: true, value: { ...base.value, id: `${params.CallSid}:end`, kind: 'call.end', text: '' } };
  },
  toTwiml(output, opts) {
    const settings = safeSettings(opts.settings);
    const publicUrl = xmlSafe(opts.publicUrl);
    const { turn } = opts;
    const response = new twilio.twiml.VoiceResponse();
    const say = { voice: settings.voice, language: settings.language } as const;
    let asked = false;
    for (const reply of output.replies) {
      if (!reply.ask) {
        response.say(say as never, xmlSafe(reply.text));
        continue;
      }
      const digits = reply.choice ? 1 : reply.ask.digits; // a choice: one key per option
      const gather = response.gather({
        input: reply.ask.keypad ? ['dtmf'] : ['dtmf', 'speech'],
        ...(digits !== undefined ? { numDigits: digits } : {}),
        finishOnKey: '#',
        timeout: reply.ask.timeout ?? settings.gatherTimeout,
        action: `${publicUrl}/webhooks/voice/gather?turn=${turn + 1}`,
        method: 'POST',
        actionOnEmptyResult: true,
        ...(reply.ask.keypad ? {} : { language: settings.language as never }),
      });
      // An empty prompt is a silent wait (a call holding for a sign-in): a Gather with nothing to say.
      if (reply.text.trim() !== '') gather.say(say as never, xmlSafe(reply.text));
      asked = true;
    }
    if (output.transfer) transferTwiml(response, output.transfer, publicUrl, settings);
    else if (output.hangup || !asked) response.hangup();
    return response.toString();
  },
  holdTwiml(opts) {
    const settings = safeSettings(opts.settings);
    const publicUrl = xmlSafe(opts.publicUrl);
    const { turn, hold } = opts;
    const response = new twilio.twiml.VoiceResponse();
    if (hold === 0)
      response.say({ voice: settings.voice, language: settings.language } as never, settings.holdMessage);
    response.pause({ length: 1 });
    response.redirect({ method: 'POST' }, `${publicUrl}/webhooks/voice/result?turn=${turn}&hold=${hold + 1}`);
    return response.toString();
  },
  apologyTwiml(voiceSettings) {
    const settings = safeSettings(voiceSettings);
    const response = new twilio.twiml.VoiceResponse();
    response.say(
      { voice: settings.voice, language: settings.language } as never,
      settings.apology ?? APOLOGY,
    );
    response.hangup();
    return response.toString();
  },
  hangupTwiml() {
    const response = new twilio.twiml.VoiceResponse();
    response.hangup();
    return response.toString();
  },
};

declare module '../../src/core/events.js' {
  interface ChannelNames {
    voice: true;
  }
}
