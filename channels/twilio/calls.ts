// Places outbound calls through Twilio's Calls API with the official client; their webhooks come back to us.
import twilio from 'twilio';
import type { TwilioAccount } from './accounts.js';
import { TwilioClients, twilioErrorFields } from './sender.js';

export interface OutboundCallRequest {
  accountSid: string;
  /** Our voice number (E.164): the caller ID. */
  from: string;
  to: string;
  /** The gateway's public URL: Twilio asks `/webhooks/voice` for the answered call's TwiML. */
  publicUrl: string;
  /** Answering-machine detection: Twilio waits for the greeting's end and says `AnsweredBy`. */
  detectMachine: boolean;
}

/** Twilio refused to place the call (4xx): its error code and message say why. */
export class CallRefusedError extends Error {
  override readonly name = 'CallRefusedError';
  constructor(
    message: string,
    readonly status: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Twilio could not be reached or failed (network, 5xx, 429): the call was not placed; try again later. */
export class CallUnavailableError extends Error {
  override readonly name = 'CallUnavailableError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Places a call. Implementations: `TwilioCaller` (Twilio's REST API). The sandbox has none: calls need
 * Twilio (the operator API says so).
 */
export interface CallPlacer {
  place(request: OutboundCallRequest): Promise<{ sid: string }>;
}

/** The statuses Twilio reports to the status callback: every one, so no-answer and busy are seen too. */
const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

export class TwilioCaller implements CallPlacer {
  private readonly clients: TwilioClients;

  constructor(accounts: () => Map<string, TwilioAccount>) {
    this.clients = new TwilioClients(accounts);
  }

  private client(accountSid: string): twilio.Twilio {
    return this.clients.get(
      accountSid,
      () => new CallRefusedError(`no Twilio account ${accountSid} is configured`, 400),
    );
  }

  async place(request: OutboundCallRequest): Promise<{ sid: string }> {
    try {
      const call = await this.client(request.accountSid).calls.create({
        from: request.from,
        to: request.to,
        url: `${request.publicUrl}/webhooks/voice`,
        method: 'POST',
        statusCallback: `${request.publicUrl}/webhooks/voice/status`,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: STATUS_EVENTS,
        ...(request.detectMachine ? { machineDetection: 'DetectMessageEnd' } : {}),
      });
      return { sid: call.sid };
    } catch (error) {
      if (error instanceof CallRefusedError) throw error;
      const { status, code, message } = twilioErrorFields(error);
      if (status === undefined) throw new CallUnavailableError(`Twilio unreachable: ${message}`);
      if (status === 429 || status >= 500)
        throw new CallUnavailableError(`Twilio answered ${status}: ${message}`, status);
      throw new CallRefusedError(message, status, code);
    }
  }
}
