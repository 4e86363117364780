// The normalized events and replies every channel adapter speaks: the core knows nothing of Twilio.

export type Channel = 'sms' | 'whatsapp' | 'voice';
export const CHANNELS: readonly Channel[] = ['sms', 'whatsapp', 'voice'];

/** What happened on a channel, as the dialog engine sees it. */
export type InboundKind =
  | 'message' // an SMS or WhatsApp message
  | 'call.start' // an incoming call
  | 'call.input' // keys pressed or words spoken in answer to a prompt
  | 'call.noinput' // a prompt the caller did not answer
  | 'call.end'; // the call is over

export interface InboundEvent {
  /** The provider's id for this event (MessageSid, or CallSid with the turn): the deduplication key. */
  id: string;
  kind: InboundKind;
  botId: string;
  channel: Channel;
  /** The channel identity, e.g. `whatsapp:+447700900123`, `sms:+12125551234`, `voice:+12125551234`. */
  identity: string;
  /** The user's address as Twilio knows it (`whatsapp:+44…` or `+1…`): where replies go. */
  from: string;
  /** Our number the user wrote to or called, as Twilio knows it. */
  to: string;
  accountSid: string;
  text: string;
  /** Voice: which turn of the call this answers (0 = the call itself). */
  turn?: number;
  optOut?: 'STOP' | 'START' | 'HELP';
  profileName?: string;
  media?: { url: string; contentType: string }[];
  location?: { latitude: string; longitude: string; address?: string; label?: string };
  receivedAt: number;
}

/** A gather request attached to a prompt: how the answer is to be collected. */
export interface AskSpec {
  keypad: boolean;
  digits?: number;
  secret: boolean;
  /** Seconds to wait for the caller on voice. */
  timeout?: number;
}

export interface Reply {
  text: string;
  /** Set on the prompt of an `ask`: the conversation now waits for an answer. */
  ask?: AskSpec;
}

/** Everything one turn of the dialog produced, in order. */
export interface TurnOutput {
  replies: Reply[];
  /** The conversation ended (`end`, opt-out): a call hangs up. */
  hangup: boolean;
}

export function identityOf(channel: Channel, address: string): string {
  const bare = address.replace(/^(whatsapp|sms|voice):/, '');
  return `${channel}:${bare}`;
}
