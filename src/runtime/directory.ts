// Lookups over the loaded configuration: which bot serves a number, which token signs an account.
import type { BotConfig, Config } from '../config/index.js';
import type { Channel } from '../core/events.js';
import type { VoiceSettings } from '../../channels/index.js';
import type { TwilioAccount } from '../outbound/twilio-sender.js';

export interface BotRef {
  id: string;
  bot: BotConfig;
  /**
   * The Twilio account whose webhooks may drive this bot, and on which its replies go out: its workspace's
   * own account, else the top-level one (undefined when neither is configured).
   */
  accountSid: string | undefined;
}

export class Directory {
  private readonly byNumber = new Map<string, BotRef>();
  private readonly accountsBySid = new Map<string, TwilioAccount>();

  constructor(
    readonly config: Config,
    readonly sandbox: { authToken: string } | undefined,
  ) {
    for (const [id, bot] of Object.entries(config.bots)) {
      const accountSid = (config.workspaces[bot.workspace]?.twilio ?? config.twilio)?.accountSid;
      for (const channel of ['sms', 'whatsapp', 'voice'] as const) {
        for (const number of bot.numbers[channel]) {
          this.byNumber.set(`${channel}:${number}`, { id, bot, accountSid });
        }
      }
    }
    const accounts = [config.twilio, ...Object.values(config.workspaces).map((w) => w.twilio)];
    for (const account of accounts) {
      if (account) {
        this.accountsBySid.set(account.accountSid, {
          accountSid: account.accountSid,
          authToken: account.authToken,
          ...(account.apiBaseUrl ? { apiBaseUrl: account.apiBaseUrl } : {}),
        });
      }
    }
  }

  bot(id: string): BotConfig | undefined {
    return Object.hasOwn(this.config.bots, id) ? this.config.bots[id] : undefined;
  }

  botFor(channel: Channel, number: string): BotRef | undefined {
    return this.byNumber.get(`${channel}:${number}`);
  }

  /**
   * Whether a webhook signed for `accountSid` may drive a bot: only its own account's may, so one workspace's
   * token cannot speak for another workspace's numbers. Sandbox mode has one token and no accounts.
   */
  drives(accountSid: string, ref: BotRef): boolean {
    return this.sandbox !== undefined || ref.accountSid === accountSid;
  }

  /** The auth token that signs webhooks for an account (sandbox mode: one token for all). */
  authToken(accountSid: string): string | undefined {
    if (this.sandbox) return this.sandbox.authToken;
    return this.accountsBySid.get(accountSid)?.authToken;
  }

  accounts(): Map<string, TwilioAccount> {
    return this.accountsBySid;
  }

  get publicUrl(): string {
    return this.config.server.publicUrl;
  }

  voiceSettings(bot: BotConfig): VoiceSettings {
    return {
      language: bot.voice.language,
      voice: bot.voice.voice,
      gatherTimeout: bot.voice.gatherTimeout,
      holdMessage: bot.voice.holdMessage,
    };
  }
}
