// Voice: Twilio's call and gather webhooks in, TwiML out (Say, Gather with the prompt inside, Hangup).
import twilio from 'twilio';
import { identityOf, type TurnOutput } from '../../src/core/events.js';
import {
  E164,
  required,
  type ChannelAdapter,
  type ChannelEvent,
  type Parsed,
  type WebhookParams,
} from '../channel-adapter.js';

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
  };
}

export interface VoiceSettings {
  language: string;
  voice: string;
  gatherTimeout: number;
  holdMessage: string;
}

export interface VoiceAdapter extends ChannelAdapter {
  readonly channel: 'voice';
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

function callEvent(
  params: WebhookParams,
  receivedAt: number,
): Parsed<Omit<ChannelEvent, 'id' | 'kind' | 'text'>> {
  const problem = required(params, ['CallSid', 'AccountSid', 'From', 'To']);
  if (problem) return { ok: false, problem };
  const withheld = WITHHELD.has(params.From!.toLowerCase());
  if (!withheld && !E164.test(params.From!)) return { ok: false, problem: 'From is not an E.164 number' };
  return {
    ok: true,
    value: {
      channel: 'voice',
      // A caller with no number is known by the call alone: each such call is an identity of its own.
      identity: identityOf('voice', withheld ? `withheld:${params.CallSid!}` : params.From!),
      from: params.From!,
      to: params.To!,
      accountSid: params.AccountSid!,
      receivedAt,
    },
  };
}

export const voiceAdapter: VoiceAdapter = {
  channel: 'voice',
  ourNumber: (params) => params.To ?? params.Called,
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
      const gather = response.gather({
        input: reply.ask.keypad ? ['dtmf'] : ['dtmf', 'speech'],
        ...(reply.ask.digits !== undefined ? { numDigits: reply.ask.digits } : {}),
        finishOnKey: '#',
        timeout: reply.ask.timeout ?? settings.gatherTimeout,
        action: `${publicUrl}/webhooks/voice/gather?turn=${turn + 1}`,
        method: 'POST',
        actionOnEmptyResult: true,
        ...(reply.ask.keypad ? {} : { language: settings.language as never }),
      });
      gather.say(say as never, xmlSafe(reply.text));
      asked = true;
    }
    if (output.hangup || !asked) response.hangup();
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
      'Sorry, something went wrong on our side. Please call again later. Goodbye.',
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
