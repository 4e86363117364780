// The channels, registered by name: a new channel is its folder and one line here.
import { smsAdapter } from './sms/sms.adapter.js';
import { whatsappAdapter } from './whatsapp/whatsapp.adapter.js';
import { voiceAdapter } from './voice/voice.adapter.js';
import type { ChannelAdapter } from './channel.js';
import { accountOf, accounts } from './twilio/accounts.js';

import { TwilioSender, type MessageSender } from './twilio/sender.js';
import { TwilioCaller, type CallPlacer } from './twilio/calls.js';
import type { BotConfig, Config } from '../src/config/index.js';

export const channels = { sms: smsAdapter, whatsapp: whatsappAdapter, voice: voiceAdapter } as const;

/** The names of the built-in channels: the keys of a bot's `numbers`. */
export const CHANNEL_NAMES = Object.keys(channels) as [keyof typeof channels, ...(keyof typeof channels)[]];

/** The channels one gateway serves: the built-in ones and any given to it (a channel of a test, a plug-in). */
export class ChannelRegistry {
  private readonly byName = new Map<string, ChannelAdapter>();

  constructor(extra: readonly ChannelAdapter[] = []) {
    for (const adapter of [...Object.values(channels), ...extra]) {
      if (this.byName.has(adapter.name)) throw new Error(`two channels are named "${adapter.name}"`);
      this.byName.set(adapter.name, adapter);
    }
  }

  get(name: string): ChannelAdapter | undefined {
    return this.byName.get(name);
  }

  all(): ChannelAdapter[] {
    return [...this.byName.values()];
  }
}

/** Whether the configuration has a provider account at all (without one, the gateway runs in sandbox mode). */
export function hasProviderAccounts(config: Config): boolean {
  return accounts(config).size > 0;
}

/** The provider account a bot's messages leave on ('' in sandbox mode): what a message the operator sends names. */
export function senderAccountOf(config: Config, bot: BotConfig): string {
  return accountOf(config, bot)?.accountSid ?? '';
}

/** The provider's message sender when the gateway is not in sandbox mode; reads the configuration on every send. */
export function providerSender(config: () => Config): MessageSender {
  return new TwilioSender(() => accounts(config()));
}

/** The provider's call placer (outbound calls); reads the configuration on every call. */
export function providerCaller(config: () => Config): CallPlacer {
  return new TwilioCaller(() => accounts(config()));
}

export {
  SendRejectedError,
  SendRetryableError,
  providerField,
  type ChannelAdapter,
  type ChannelEvent,
  type ContentSids,
  type DeliveryStatus,
  type WebhookKit,
  type WebhookRoute,
} from './channel.js';
export type { MessageSender } from './twilio/sender.js';
export { signedFormHeaders } from './twilio/webhook.js';
export { sendInterval } from './twilio/pacing.js';
export { accountOf } from './twilio/accounts.js';
export { CallRefusedError, CallUnavailableError, type CallPlacer } from './twilio/calls.js';
export { SandboxRecorder, type RecordedMessage } from './sandbox/recorder.js';
export { voiceSettings, type VoiceAdapter, type VoiceSettings } from './voice/voice.adapter.js';
