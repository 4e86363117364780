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
  | 'signin' // a sign-in link's browser side finished (the gateway's own event, never a provider's)
  | 'start' // the operator started a flow for this identity (POST /v1/conversations)
  | 'agent' // handoff: the operator's agent wrote to the user (text), through the operator API
  | 'resume'; // handoff: the operator gave the conversation back to the bot (resume.flow, optional)

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
  /**
   * A `start` event: the flow to run fresh and its variables; when the user last wrote (ms, 0 for never:
   * its replies' WhatsApp window) and the template its first prompt goes through outside the window.
   */
  start?: {
    flow: string;
    vars: Record<string, string>;
    windowStart?: number;
    template?: { contentSid: string; variables?: Record<string, string> };
  };
  /** The W3C trace context of the webhook that queued the event (tracing on): the turn continues its trace. */
  traceparent?: string;
  /** A `resume` event: the flow to carry on in (default: the step after the handoff). */
  resume?: { flow?: string };
  /** An operator's event (`agent`): when the user last wrote (ms), where WhatsApp's 24-hour window starts. */
  windowStart?: number;
}

/** A gather request attached to a prompt: how the answer is to be collected. */
export interface AskSpec {
  keypad: boolean;
  digits?: number;
  secret: boolean;
  /** Seconds to wait for the caller on voice. */
  timeout?: number;
}

/** One option of a `choose` question: its id is what the answer saves. */
export interface ChoiceOption {
  id: string;
  title: string;
  description?: string;
}

/** A `choose` question's options, on its prompt: each channel renders them its own way. */
export interface ReplyChoice {
  options: ChoiceOption[];
  /** The text of the button that opens a WhatsApp list. */
  button?: string;
}

export interface Reply {
  text: string;
  /** The text holds a secret (a sign-in link): the history keeps it as `[redacted]`. */
  secret?: boolean;
  /** Set on the prompt of an `ask`: the conversation now waits for an answer. */
  ask?: AskSpec;
  /**
   * Set on the prompt of a `choose` (with `ask`): the options, which each channel renders its own way
   * (buttons or a list, a numbered list under the prompt, "press 1 for …"). `text` is the bare prompt.
   */
  choice?: ReplyChoice;
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
  /** On a call: a `handoff` step transfers it (after the replies are said). */
  transfer?: Transfer;
}

/** Where a call goes to reach a person; the channel renders it (Twilio: `<Dial>` or `<Enqueue>`). */
export interface Transfer {
  to: { number: string } | { sip: string } | { queue: string };
  /** Said to the agent before being connected (a number or SIP address). */
  whisper?: string;
  /** Said to the caller when no one answered, before hanging up. */
  noAnswer: string;
}

/** The identity of an address on a channel; an address written with the channel's own prefix loses it. */
export function identityOf(channel: Channel, address: string): string {
  const prefix = `${channel}:`;
  return `${prefix}${address.startsWith(prefix) ? address.slice(prefix.length) : address}`;
}
