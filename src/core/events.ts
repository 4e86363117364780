// The normalized events and replies every channel adapter speaks: the core knows no provider.

/**
 * The names of the registered channels: each channel's folder adds its own (`declare module`), so the core
 * lists none and a new channel changes nothing here.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ChannelNames {}
export type Channel = keyof ChannelNames & string;

/** What happened on a channel, as the dialog engine sees it. */
export type InboundKind =
  | 'message' // an SMS or WhatsApp message
  | 'call.start' // an incoming call
  | 'call.input' // keys pressed or words spoken in answer to a prompt
  | 'call.noinput' // a prompt the caller did not answer
  | 'call.end' // the call is over
  | 'signin'; // a sign-in link's browser side finished (the gateway's own event, never a provider's)

export interface InboundEvent {
  /** The provider's id for this event (a message's, or a call's with the turn): the deduplication key. */
  id: string;
  kind: InboundKind;
  botId: string;
  channel: Channel;
  /** The channel identity, e.g. `whatsapp:+447700900123`, `sms:+12125551234`, `voice:+12125551234`. */
  identity: string;
  /** The user's address as the provider knows it (`whatsapp:+44…` or `+1…`): where replies go. */
  from: string;
  /** Our address the user wrote to or called, as the provider knows it. */
  to: string;
  /** What the channel's provider needs again later (the account a reply leaves on): opaque here. */
  provider?: Record<string, string>;
  text: string;
  /** Voice: which turn of the call this answers (0 = the call itself). */
  turn?: number;
  optOut?: 'STOP' | 'START' | 'HELP';
  profileName?: string;
  media?: { url: string; contentType: string }[];
  location?: { latitude: string; longitude: string; address?: string; label?: string };
  receivedAt: number;
  /** A `signin` event: the session it is about and how the browser side ended. */
  signIn?: { session: string; status: 'completed' | 'failed' };
  /** The W3C trace context of the webhook that queued the event (tracing on): the turn continues its trace. */
  traceparent?: string;
  /** An operator-started conversation (an outbound call's `call.start`): the flow it runs and its variables. */
  start?: { flow: string; vars: Record<string, string> };
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
  /** The text holds a secret (a sign-in link): the history keeps it as `[redacted]`. */
  secret?: boolean;
  /** Set on the prompt of an `ask`: the conversation now waits for an answer. */
  ask?: AskSpec;
}

/** Everything one turn of the dialog produced, in order. */
export interface TurnOutput {
  replies: Reply[];
  /** The conversation ended (`end`, opt-out): a call hangs up. */
  hangup: boolean;
  /**
   * On a call: text messages for the caller's number (a sign-in link), sent from the bot's SMS number, else
   * its WhatsApp number. Secret: the history keeps them as `[redacted]`.
   */
  texts?: { text: string }[];
}

/** The identity of an address on a channel; an address written with the channel's own prefix loses it. */
export function identityOf(channel: Channel, address: string): string {
  const prefix = `${channel}:`;
  return `${prefix}${address.startsWith(prefix) ? address.slice(prefix.length) : address}`;
}
