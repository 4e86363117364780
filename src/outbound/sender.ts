// How replies leave: the interface the send worker uses, and the errors that tell it what to do.

export interface OutboundText {
  accountSid: string;
  from: string;
  to: string;
  body: string;
  /** WhatsApp outside the 24-hour window: a pre-approved template instead of free text. */
  contentSid?: string;
}

/**
 * Sends one message. Implementations: `TwilioSender` (Twilio's REST API through the `twilio` client)
 * and `SandboxRecorder` (records to Redis for the simulator and tests).
 */
export interface MessageSender {
  send(message: OutboundText): Promise<{ sid: string }>;
  /** Deletes an inbound message from the provider's log (after it carried a secret). */
  deleteMessage?(accountSid: string, messageSid: string): Promise<void>;
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

/** The provider was busy or unreachable (429, 5xx, network): retry with backoff. */
export class SendRetryableError extends Error {
  override readonly name = 'SendRetryableError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
